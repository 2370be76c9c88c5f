import { unzipSync } from "fflate";
import iconv from "iconv-lite";
import type { Bill, BillPayment, BillRefund, Outcome } from "../../adapter";
import { BillTooLarge, columns, csvRows, downloadLimited } from "../../bills/read";
import { yuanToFen } from "../../money";
import { fromBeijingTime } from "../../time";

/** The columns of Alipay's trade bill detail (业务明细) that reconciliation reads. */
const NEEDED = [
  "支付宝交易号",
  "商户订单号",
  "业务类型",
  "完成时间",
  "订单金额（元）",
  "退款批次号/请求号",
] as const;

/**
 * Unpacks Alipay's trade bill (a zip of GBK CSVs: the detail, 业务明细, and a summary), at most `maxBytes` unpacked
 * in all, and parses the detail: one row per payment (业务类型 交易) and per refund (退款, a negative amount and the
 * refund's out_request_no). Amounts are yuan, times Beijing. Lines starting with `#` are comments.
 * @see https://opendocs.alipay.com/open/02ivbw (bill download URL)
 */
export function parseAlipayBillZip(
  zip: Uint8Array,
  maxBytes: number,
): { payments: BillPayment[]; refunds: BillRefund[] } {
  let total = 0;
  const files = unzipSync(zip, {
    filter: (file) => {
      total += file.originalSize;
      if (total > maxBytes) throw new BillTooLarge(maxBytes);
      return true;
    },
  });
  for (const bytes of Object.values(files)) {
    // File names are GBK too, and zips do not say so: the detail is known by its header row.
    const text = iconv.decode(Buffer.from(bytes), "gbk");
    const rows = csvRows(
      text
        .split(/\r?\n/)
        .filter((line) => !line.startsWith("#"))
        .join("\n"),
    );
    const headerAt = rows.findIndex((r) => r[0] === "支付宝交易号");
    if (headerAt < 0) continue;
    return parseDetail(rows, headerAt);
  }
  throw new Error("the bill zip holds no trade detail (业务明细)");
}

function parseDetail(rows: string[][], headerAt: number) {
  const at = columns(rows[headerAt] ?? [], NEEDED);
  if (!at) throw new Error("the trade detail lacks a column paykit reads");
  const payments: BillPayment[] = [];
  const refunds: BillRefund[] = [];
  for (const row of rows.slice(headerAt + 1)) {
    const get = (name: (typeof NEEDED)[number]) => (row[at[name] as number] ?? "").trim();
    const when = fromBeijingTime(get("完成时间"));
    const amount = get("订单金额（元）");
    const kind = get("业务类型");
    if (!when) throw new Error(`a bill row with no finish time: ${get("完成时间").slice(0, 40)}`);
    if (kind === "交易") {
      const fen = yuanToFen(amount);
      if (fen === undefined) throw new Error(`a payment with amount ${amount}`);
      payments.push({
        out_trade_no: get("商户订单号"),
        transaction_id: get("支付宝交易号"),
        total_fee: fen,
        paid_at: when,
      });
    } else if (kind === "退款") {
      const fen = yuanToFen(amount.replace(/^-/, ""));
      if (fen === undefined) throw new Error(`a refund with amount ${amount}`);
      const requestNo = get("退款批次号/请求号");
      refunds.push({
        out_trade_no: get("商户订单号"),
        transaction_id: get("支付宝交易号"),
        // A refund made in Alipay's console may have no request number: left empty, reconciliation flags it (two
        // such refunds of one trade could not be told apart).
        out_refund_no: requestNo,
        refund_id: get("支付宝交易号"),
        refund_fee: fen,
        refunded_at: when,
      });
    }
  }
  return { payments, refunds };
}

/**
 * Downloads and reads the bill zip at the URL Alipay's signed answer gave: only from Alipay (or the configured
 * gateway's own origin, the sandbox), within `maxBytes` downloaded and unpacked.
 */
export async function readAlipayBill(
  url: unknown,
  bill: Bill,
  options: { gateway: string; maxBytes: number; timeoutMs: number; signal?: AbortSignal },
): Promise<Outcome<Bill>> {
  if (typeof url !== "string") return { status: "unknown", reason: "the answer has no bill_download_url" };
  let target: URL;
  try {
    target = new URL(url);
  } catch (cause) {
    return { status: "unknown", reason: "bill_download_url is not a URL", cause };
  }
  const own = target.origin === new URL(options.gateway).origin;
  if (!own && !(target.protocol === "https:" && /(^|\.)alipay(dev)?\.com$/.test(target.hostname)))
    return { status: "unknown", reason: `bill_download_url is on ${target.hostname}, not Alipay's: refused` };
  try {
    const zip = await downloadLimited(target.href, {
      maxBytes: options.maxBytes,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { status: "succeeded", value: { ...bill, ...parseAlipayBillZip(zip, options.maxBytes) } };
  } catch (cause) {
    return {
      status: "unknown",
      reason: `the trade bill could not be read: ${(cause as Error).message}`,
      cause,
    };
  }
}
