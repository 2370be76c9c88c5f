import { createCipheriv, createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decryptResource } from "./aead";
import {
  appPayParams,
  authorization,
  authorizationOffThread,
  jsapiPayParams,
  requestMessage,
  sha256WithRsa,
  verifySha256WithRsa,
} from "./sign";
import { SignatureRejected, WechatpayVerifier } from "./verifier";

const fixture = (name: string) =>
  readFileSync(new URL(`../../../../../test-fixtures/${name}`, import.meta.url), "utf8");
// WeChat Pay's published test key and the documentation's example timestamp and nonce.
const docKey = createPrivateKey(fixture("wechatpay-doc-test-private-key.pem"));
const docPublicKey = createPublicKey(fixture("wechatpay-doc-test-public-key.pem"));
const TS = "1554208460";
const NONCE = "593BEC0C930BF1AFEB40B4A08C8FB242";

describe("WeChat Pay request signatures, against the published examples", () => {
  it("reproduces the JSAPI order body example", () => {
    const body =
      '{"appid":"wxd678efh567hg6787","mchid":"1900007291","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}';
    expect(sha256WithRsa(docKey, requestMessage("POST", "/v3/pay/transactions/jsapi", TS, NONCE, body))).toBe(
      "jnks4dlrPw3ZX+ozVvSK39oa0t7OMBsg83BHAwd8BRdUFiVaQNTLTvci+wURgP1OQBbKYhFGvt7iqYpDSTQkp7Uq1sltaQKyncCyrA1g88m5bsKERQfPyT0ahSwKTYJ1CAn9QiJuSJRq1QsQs07eehbU/k9BCS51jTyc1Jpsi2H77HF9f/BnjXAOP3/sPObg6V5Ee4EzwLox684hhuMuIwHo7D8KFk3LIHOKDcNI4It1aCXydFWNpNK+SG86VUDe5kwoDpw4Ulqfu9z8OFDGbDs9TCxEv8iqQzbpxOlEVoOe2kalSYM5kApQb3nZcxdUtoE0liJGW3RGUNE0t4v01A==",
    );
  });

  it("reproduces the GET (empty body) example and its Authorization header, signed on or off the thread", async () => {
    const input = {
      mchId: "1900007291",
      serialNo: "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
      privateKey: docKey,
      method: "GET",
      url: "/v3/refund/domestic/refunds/123123123123",
      body: "",
      timestamp: TS,
      nonce: NONCE,
    };
    const header = authorization(input);
    expect(await authorizationOffThread(input)).toBe(header);
    expect(header).toBe(
      'WECHATPAY2-SHA256-RSA2048 mchid="1900007291",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1554208460",serial_no="408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",signature="Lc9VXxmeonkdV8Xk9tmigQFLhl0vRWTerdmoRu01aAnYwIrD/5nsSwE1WlmZGLRlAFTNQ3QsMa0+VRDlJp1Wp5p0nO8EK68b5sJBbjouxaFciIfq1zfDWWz+jqhcMoKXI1A6dPm1AW7D4d30WsMTNzp6g23OXakIsh9LO3lUmwvTuE0BY8ncf6tNGk4wKmvXwERd/ZpoQY3MAVKz+Nakwc+2XBmzT66KcUehU5kr4IvGa/lEU5RZb/q00zP9VLdBhC/jQSX3X1UcJLCtEc4gTmib4tnmAT+bHF/e17ZAuxDNcx6rqT8gNEXqaJGG+1OflMSTU2tpyG65G4dMKdFcoA=="',
    );
  });

  it("reproduces the JSAPI paySign example", () => {
    const params = jsapiPayParams(
      docKey,
      "wx2421b1c4370ec43b",
      "wx201410272009395522657a690389285100",
      TS,
      NONCE,
    );
    expect(params).toEqual({
      appId: "wx2421b1c4370ec43b",
      timeStamp: TS,
      nonceStr: NONCE,
      package: "prepay_id=wx201410272009395522657a690389285100",
      signType: "RSA",
      paySign:
        "mI35pfNEQV6777ke/1T+LJLQDNTm7yeoUJH+j/adPGhmCCi0PbgkvYQTRcXH0uibcLVtvFLdGLpmoYO9FV6lBBsTAjuhh5YOvQi0e2g3e0yytitiNET9FEuqM0pjnKfRW4K6LIZDdbWJv9KhZUx3DrJa5TL7OJ7VdADVivxVySIlPVKjGwuCXzuXSJes0UcILgWQUMyha5/3nYofuHtS7r+KYyMuxD+oJ9VM1Qdxk4UIG59CP5Y3wtYIFybyF3bdu1caHTRRX+DLyMXyYA/IrTmiW01c4RPjpHBX5Dk1sZyY1zVsWNsvMHr2e1NTWtBxKJ+qk5N61J7caYoepHFaxw==",
    });
  });

  it("signs APP pay parameters over appid, timestamp, noncestr and prepayid", () => {
    const p = appPayParams(
      docKey,
      "wx2421b1c4370ec43b",
      "1900007291",
      "wx201410272009395522657a690389285100",
      TS,
      NONCE,
    );
    expect(p).toMatchObject({
      partnerid: "1900007291",
      package: "Sign=WXPay",
      noncestr: NONCE,
      timestamp: TS,
    });
    const message = `wx2421b1c4370ec43b\n${TS}\n${NONCE}\nwx201410272009395522657a690389285100\n`;
    expect(verifySha256WithRsa(docPublicKey, message, p.sign)).toBe(true);
    // Node's base64 decoder would read these as the same signature; a verifier must not.
    expect(verifySha256WithRsa(docPublicKey, message, `${p.sign} `)).toBe(false);
    expect(verifySha256WithRsa(docPublicKey, message, `${p.sign}!3D`)).toBe(false);
  });
});

describe("AEAD_AES_256_GCM decryption", () => {
  // wechatpay-java's published vector (a real 32-byte APIv3 key).
  const vector = {
    ciphertext: "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=",
    nonce: "uluk4a9R25RW",
    associated_data: "associatedData",
  };
  const key = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";

  it("decrypts the published vector", () => {
    expect(decryptResource(key, { ...vector, algorithm: "AEAD_AES_256_GCM" })).toBe("message");
  });

  it("refuses a flipped tag, wrong associated data, a wrong key and a wrong nonce", () => {
    const bytes = Buffer.from(vector.ciphertext, "base64");
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
    expect(() => decryptResource(key, { ...vector, ciphertext: bytes.toString("base64") })).toThrow();
    expect(() => decryptResource(key, { ...vector, associated_data: "transaction" })).toThrow();
    expect(() => decryptResource("b7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb", vector)).toThrow();
    expect(() => decryptResource(key, { ...vector, nonce: "uluk4a9R25RX" })).toThrow();
    expect(() => decryptResource("short", vector)).toThrow(/32 bytes/);
  });

  it("decrypts a resource of an empty plaintext (the 16-byte tag alone), and refuses one shorter than a tag", () => {
    const cipher = createCipheriv("aes-256-gcm", Buffer.from(key), Buffer.from(vector.nonce));
    cipher.setAAD(Buffer.from(vector.associated_data));
    const tagOnly = Buffer.concat([cipher.update(Buffer.alloc(0)), cipher.final(), cipher.getAuthTag()]);
    expect(tagOnly).toHaveLength(16);
    expect(decryptResource(key, { ...vector, ciphertext: tagOnly.toString("base64") })).toBe("");
    expect(() =>
      decryptResource(key, { ...vector, ciphertext: tagOnly.subarray(1).toString("base64") }),
    ).toThrow(/too short/);
  });
});

describe("WechatpayVerifier", () => {
  // WeChat Pay's published response-signature example (public-key mode).
  const example = {
    timestamp: "1722850421",
    nonce: "d824f2e086d3c1df967785d13fcd22ef",
    serial: "PUB_KEY_ID_0000000000000024101100397200000006",
    signature:
      "mfI1CPqvBrgcXfgXMFjdNIhBf27ACE2YyeWsWV9ZI7T7RU0vHvbQpu9Z32ogzc+k8ZC5n3kz7h70eWKjgqNdKQF0eRp8mVKlmfzMLBVHbssB9jEZEDXThOX1XFqX7s7ymia1hoHQxQagPGzkdWxtlZPZ4ZPvr1RiqkgAu6Is8MZgXXrRoBKqjmSdrP1N7uxzJ/cjfSiis9FiLjuADoqmQ1P7p2N876YPAol7Rn0+GswwAwxldbdLrmVSjfytfSBJFqTMHn4itojgxSWWN1byuckQt8hSTEv/Lg97QoeGniYP17T80pJeQyL3b+295FPHSO2AtvCgyIbKMZ0BALilAA==",
  };
  const body = '{"code_url":"weixin://wxpay/bizpayurl?pr=JyC91EIz1"}';
  const verifier = (nowSeconds: number) =>
    new WechatpayVerifier({
      publicKey: { id: example.serial, pem: fixture("wechatpay-doc-response-example-public-key.pem") },
      now: () => nowSeconds * 1000,
    });

  it("verifies the published response example in public-key mode", async () => {
    await expect(verifier(1722850421 + 10).verify(example, body)).resolves.toBeUndefined();
  });

  it("refuses it 301 s later, with a changed body, a probe prefix, or an unknown serial", async () => {
    await expect(verifier(1722850421 + 301).verify(example, body)).rejects.toThrow(/300 s tolerance/);
    await expect(verifier(1722850421 - 301).verify(example, body)).rejects.toThrow(SignatureRejected);
    await expect(
      verifier(1722850421).verify(example, body.replace("JyC91EIz1", "JyC91EIz2")),
    ).rejects.toThrow(/raw body/);
    await expect(
      verifier(1722850421).verify({ ...example, signature: `WECHATPAY/SIGNTEST/${example.signature}` }, body),
    ).rejects.toThrow(/probe/);
    await expect(
      verifier(1722850421).verify({ ...example, serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1" }, body),
    ).rejects.toThrow(/neither/);
    await expect(verifier(1722850421).verify({ ...example, nonce: undefined }, body)).rejects.toThrow(
      /missing/,
    );
  });

  it("fetches platform certificates again at most once a minute when an unknown serial arrives", async () => {
    let fetches = 0;
    let now = 1_800_000_000_000;
    const v = new WechatpayVerifier({
      fetchCertificates: async () => {
        fetches++;
        return [{ serialNo: "AA", publicKey: docPublicKey, notBefore: 0, notAfter: now + 365 * 86400_000 }];
      },
      now: () => now,
    });
    const headers = { timestamp: String(now / 1000), nonce: "n", serial: "BB", signature: "x" };
    await expect(v.verify(headers, "{}")).rejects.toThrow(/neither/);
    expect(fetches).toBe(2); // the first download, then one more for the unknown serial
    await expect(v.verify(headers, "{}")).rejects.toThrow(/neither/);
    expect(fetches).toBe(2);
    now += 61_000;
    await expect(v.verify({ ...headers, timestamp: String(now / 1000) }, "{}")).rejects.toThrow(/neither/);
    expect(fetches).toBe(3);
    const signed = { timestamp: String(now / 1000), nonce: "n", serial: "AA" };
    const signature = sha256WithRsa(docKey, `${signed.timestamp}\nn\n{}\n`);
    await expect(v.verify({ ...signed, signature }, "{}")).resolves.toBeUndefined();
    expect(fetches).toBe(3);
  });
});
