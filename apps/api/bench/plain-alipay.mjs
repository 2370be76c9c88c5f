// P1's peer: what a merchant might write instead of paykit. A plain Node HTTP handler that turns the order in the
// body into an Alipay app-pay order string with the official alipay-sdk's sdkExecute, and stores nothing.
// Settings from the environment: ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY (PKCS#8 PEM), NOTIFY_URL.
import { createServer } from "node:http";
import { AlipaySdk } from "alipay-sdk";

const sdk = new AlipaySdk({
  appId: process.env.ALIPAY_APP_ID,
  privateKey: process.env.ALIPAY_PRIVATE_KEY,
  keyType: "PKCS8",
});
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => {
    body += c;
  });
  req.on("end", () => {
    const { data } = JSON.parse(body);
    const orderInfo = sdk.sdkExecute("alipay.trade.app.pay", {
      notify_url: process.env.NOTIFY_URL,
      bizContent: {
        out_trade_no: data.out_trade_no,
        total_amount: (data.total_fee / 100).toFixed(2),
        subject: data.subject,
        product_code: "QUICK_MSECURITY_PAY",
      },
    });
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ orderInfo, out_trade_no: data.out_trade_no }));
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
