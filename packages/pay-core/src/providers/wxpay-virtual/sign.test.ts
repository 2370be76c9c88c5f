import { describe, expect, it } from "vitest";
import { decryptPush, pushSignature, serverPaySig, userSignature, virtualPaySig } from "./sign";

describe("WeChat virtual payment signatures", () => {
  it("reproduces the published server API example (pay_sig and the user signature)", () => {
    const body = '{"openid": "xxx", "user_ip": "127.0.0.1", "env": 0}';
    expect(serverPaySig("12345", "/xpay/query_user_balance", body)).toBe(
      "c37809f27c6d7fd1837ad2500a04512b66b34fd793a39a385fade56dca89a4b5",
    );
    expect(userSignature("9hAb/NEYUlkaMBEsmFgzig==", body)).toBe(
      "089d9e8dc5d308977360c4b79ec600a93d736802802a807d634192328032f6c7",
    );
  });

  it("reproduces the published mini-game session signature (the session_key is used as text)", () => {
    expect(userSignature("o0q0otL8aEzpcZL/FT9WsQ==", '{"foo":"bar"}')).toBe(
      "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b",
    );
  });

  it("signs requestVirtualPayment over `requestVirtualPayment&` + signData (no leading slash)", () => {
    const signData =
      '{"offerId":"123","buyQuantity":1,"env":0,"currencyType":"CNY","productId":"testproductId","goodsPrice":10,"outTradeNo":"xxxxxx","attach":"testdata"}';
    expect(virtualPaySig("12345", signData)).toBe(serverPaySig("12345", "requestVirtualPayment", signData));
    expect(virtualPaySig("12345", signData)).not.toBe(
      serverPaySig("12345", "/requestVirtualPayment", signData),
    );
  });
});

describe("message push (secure mode)", () => {
  // WeChat's published message-push example: EncodingAESKey "A" x 43, Token "AAAAA".
  const encrypt =
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=";

  it("verifies msg_signature and decrypts the published example", () => {
    expect(pushSignature("AAAAA", "1714112445", "415670741", encrypt)).toBe(
      "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
    );
    expect(decryptPush("A".repeat(43), encrypt)).toEqual({
      appId: "wxba5fad812f8e6fb9",
      message:
        '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}',
    });
  });

  it("checks the URL-verification signature over token, timestamp and nonce", () => {
    expect(pushSignature("AAAAA", "1714036504", "1514711492")).toBe(
      "f464b24fc39322e44b38aa78f5edd27bd1441696",
    );
  });

  it("refuses a wrong key", () => {
    expect(() => decryptPush("B".repeat(43), encrypt)).toThrow();
  });
});
