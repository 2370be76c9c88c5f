import { zipSync } from "fflate";
import iconv from "iconv-lite";
import { describe, expect, it } from "vitest";
import { parseAlipayBillZip } from "./bill";

/** Alipay's trade bill detail as it comes: GBK, `#` comments around the header, tab-padded fields. */
const DETAIL = [
  "#支付宝业务明细查询",
  "#账号：[20881234567890120156]",
  "#起始日期：[2026年11月21日 00:00:00]   终止日期：[2026年11月22日 00:00:00]",
  "#-----------------------------------------业务明细列表----------------------------------------",
  "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注",
  "2026112122001411230500000001\t,T20261121002\t,交易\t,铁观音 250 克\t,2026-11-21 10:00:00\t,2026-11-21 10:00:09\t,\t,\t,\t,\t,san***@example.com\t,9.80\t,9.80\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-0.06\t,0.00\t,\t",
  "2026112122001411230500000001\t,T20261121002\t,退款\t,铁观音 250 克\t,2026-11-21 10:00:00\t,2026-11-21 20:30:00\t,\t,\t,\t,\t,san***@example.com\t,-1.50\t,-1.50\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,T20261121002-1\t,0.01\t,0.00\t,\t",
  "#-----------------------------------------业务明细列表结束------------------------------------",
  "#交易合计：1笔，退款合计：1笔",
  "",
].join("\r\n");
const SUMMARY = "#支付宝业务汇总查询\r\n门店编号,门店名称,交易订单总笔数\r\n,,1\r\n";

const zip = (detail = DETAIL) =>
  zipSync({
    "20881234567890120156_20261121_业务明细(汇总).csv": iconv.encode(SUMMARY, "gbk"),
    "20881234567890120156_20261121_业务明细.csv": iconv.encode(detail, "gbk"),
  });

describe("parseAlipayBillZip", () => {
  it("reads the GBK detail of the zip: payments and refunds in integer fen, times as Beijing time", () => {
    const bill = parseAlipayBillZip(zip(), 1 << 20);
    expect(bill.payments).toEqual([
      {
        out_trade_no: "T20261121002",
        transaction_id: "2026112122001411230500000001",
        total_fee: 980,
        paid_at: new Date("2026-11-21T02:00:09Z"),
      },
    ]);
    expect(bill.refunds).toEqual([
      expect.objectContaining({
        out_trade_no: "T20261121002",
        out_refund_no: "T20261121002-1",
        refund_fee: 150,
      }),
    ]);
  });

  it("leaves a console refund without a request number unnumbered (reconciliation flags it), not the trade's number", () => {
    const bill = parseAlipayBillZip(zip(DETAIL.replace("T20261121002-1\t", "\t")), 1 << 20);
    expect(bill.refunds).toEqual([
      expect.objectContaining({ out_trade_no: "T20261121002", out_refund_no: "" }),
    ]);
  });

  it("refuses a zip whose files unpack past the limit, before unpacking them", () => {
    expect(() => parseAlipayBillZip(zip(), 100)).toThrow(/larger than 100 bytes/);
  });

  it("refuses a zip without a trade detail", () => {
    expect(() => parseAlipayBillZip(zipSync({ "x.csv": iconv.encode(SUMMARY, "gbk") }), 1 << 20)).toThrow(
      /no trade detail/,
    );
  });
});
