// A merchant's server, as a TypeScript project outside the workspace writes it against the installed packages.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPaykitClient } from "@paykit/client";
import { openDatabase, signCheckoutToken } from "@paykit/pay-core";

const url = process.env.PAYKIT_API_URL ?? "";
const apiKey = process.env.PAYKIT_API_KEY ?? "";
const paykit = createPaykitClient({ url, apiKey });

const out_trade_no = `PACK${Date.now()}`;
const payment = await paykit.payment.create.mutate(
  {
    context: { platform: "h5" },
    isPC: true,
    provider: "wxpay",
    data: { out_trade_no, total_fee: 980, subject: "Oolong tea", type: "goods", custom: { sku: "oolong" } },
  },
  { context: { idempotencyKey: out_trade_no } },
);
// The result is a union by pay_type: narrowing it types orderInfo exactly.
if (payment.pay_type !== "wxpay_h5") throw new Error(`expected wxpay_h5, got ${payment.pay_type}`);
const codeUrl: string = payment.orderInfo.code_url;
const order = await paykit.payment.query.query({ out_trade_no });

/** Never called: the compiler must refuse it, so the installed types are real types, not `any`. */
export async function typesAreReal() {
  await paykit.payment.create.mutate({
    context: {},
    provider: "wxpay",
    data: {
      out_trade_no: "x",
      // @ts-expect-error total_fee is an integer number of fen, not a string
      total_fee: "1",
      subject: "s",
      type: "t",
    },
  });
  // @ts-expect-error there is no such procedure
  await paykit.payment.nothing.query();
}

// pay-core from its tarball: a checkout token, and the migrations found from the built code (PGlite in a temp dir).
const token = signCheckoutToken(
  { out_trade_no, total_fee: 980, subject: "Oolong tea", type: "goods", exp: Date.now() + 60_000 },
  "pack-check-secret",
);
const database = await openDatabase({
  dataDir: join(mkdtempSync(join(tmpdir(), "paykit-pack-db-")), "pglite"),
});
await database.close();

console.log(
  JSON.stringify({
    out_trade_no,
    pay_type: payment.pay_type,
    codeUrl,
    status: order.status,
    token: token.split(".").length,
    migrated: database.kind,
  }),
);
