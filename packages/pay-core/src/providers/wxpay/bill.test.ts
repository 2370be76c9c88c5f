import { describe, expect, it } from "vitest";
import { parseWechatTradeBill } from "./bill";

/** A trade bill (bill_type ALL) as WeChat Pay writes it: backtick-prefixed fields, yuan amounts, a summary. */
const BILL = [
  "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注",
  "`2026-11-21 09:15:02,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202611210000000001,`T20261121001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`Oolong tea,`,`0.07000,`0.60%,`12.34,`0.00,`",
  "`2026-11-21 18:40:11,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202611210000000001,`T20261121001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000012026112100000001,`T20261121001-1,`2.00,`0.00,`ORIGINAL,`SUCCESS,`Oolong tea,`,`-0.01000,`0.60%,`12.34,`2.00,`",
  "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
  "`2,`12.34,`2.00,`0.00,`0.06000,`12.34,`2.00",
  "",
].join("\r\n");

describe("parseWechatTradeBill", () => {
  it("reads payments and refunds in integer fen, times as Beijing time", () => {
    const bill = parseWechatTradeBill(BILL, "1900000109");
    expect(bill.payments).toEqual([
      {
        out_trade_no: "T20261121001",
        transaction_id: "4200001234202611210000000001",
        total_fee: 1234,
        paid_at: new Date("2026-11-21T01:15:02Z"),
      },
    ]);
    expect(bill.refunds).toEqual([
      {
        out_trade_no: "T20261121001",
        transaction_id: "4200001234202611210000000001",
        out_refund_no: "T20261121001-1",
        refund_id: "50300000012026112100000001",
        refund_fee: 200,
        refunded_at: new Date("2026-11-21T10:40:11Z"),
      },
    ]);
  });

  it("reads the order's amount and the refund as asked, not the amounts net of a coupon", () => {
    // A 2.00 coupon: 应结订单金额 10.34 and 退款金额 1.50 are what settles; the order was 12.34, the refund asked 2.00.
    const withCoupon = BILL.replace("`CNY,`12.34,`0.00,", "`CNY,`10.34,`2.00,").replace(
      "`T20261121001-1,`2.00,",
      "`T20261121001-1,`1.50,",
    );
    const bill = parseWechatTradeBill(withCoupon, "1900000109");
    expect(bill.payments[0]?.total_fee).toBe(1234);
    expect(bill.refunds[0]?.refund_fee).toBe(200);
  });

  it("refuses a bill of another merchant and one without its header", () => {
    expect(() => parseWechatTradeBill(BILL, "1900000110")).toThrow(/not 1900000110/);
    expect(() => parseWechatTradeBill("no,bill\n1,2\n", "1900000109")).toThrow(/header/);
  });
});
