import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { encryptResource, parseAuthorization, requestMessage, verifySha256Rsa } from "./protocol";

// WeChat Pay's published v3 signature examples: test key of merchant 1900007291, timestamp 1554208460,
// nonce 593BEC0C930BF1AFEB40B4A08C8FB242.
const docKey = createPublicKey(
  readFileSync(new URL("../../../../test-fixtures/wechatpay-doc-test-public-key.pem", import.meta.url)),
);
const TS = "1554208460";
const NONCE = "593BEC0C930BF1AFEB40B4A08C8FB242";

const GET_SIGNATURE =
  "Lc9VXxmeonkdV8Xk9tmigQFLhl0vRWTerdmoRu01aAnYwIrD/5nsSwE1WlmZGLRlAFTNQ3QsMa0+VRDlJp1Wp5p0nO8EK68b5sJBbjouxaFciIfq1zfDWWz+jqhcMoKXI1A6dPm1AW7D4d30WsMTNzp6g23OXakIsh9LO3lUmwvTuE0BY8ncf6tNGk4wKmvXwERd/ZpoQY3MAVKz+Nakwc+2XBmzT66KcUehU5kr4IvGa/lEU5RZb/q00zP9VLdBhC/jQSX3X1UcJLCtEc4gTmib4tnmAT+bHF/e17ZAuxDNcx6rqT8gNEXqaJGG+1OflMSTU2tpyG65G4dMKdFcoA==";
const JSAPI_BODY =
  '{"appid":"wxd678efh567hg6787","mchid":"1900007291","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}';
const JSAPI_SIGNATURE =
  "jnks4dlrPw3ZX+ozVvSK39oa0t7OMBsg83BHAwd8BRdUFiVaQNTLTvci+wURgP1OQBbKYhFGvt7iqYpDSTQkp7Uq1sltaQKyncCyrA1g88m5bsKERQfPyT0ahSwKTYJ1CAn9QiJuSJRq1QsQs07eehbU/k9BCS51jTyc1Jpsi2H77HF9f/BnjXAOP3/sPObg6V5Ee4EzwLox684hhuMuIwHo7D8KFk3LIHOKDcNI4It1aCXydFWNpNK+SG86VUDe5kwoDpw4Ulqfu9z8OFDGbDs9TCxEv8iqQzbpxOlEVoOe2kalSYM5kApQb3nZcxdUtoE0liJGW3RGUNE0t4v01A==";
const QUERY_URL =
  "/v3/marketing/partnerships?limit=5&offset=10&authorized_data%3D%7B%22business_type%22%3A%22FAVOR_STOCK%22%2C%20%22stock_id%22%3A%222433405%22%7D&partner%3D%7B%22type%22%3A%22APPID%22%2C%22appid%22%3A%22wx4e1916a585d1f4e9%22%2C%22merchant_id%22%3A%222480029552%22%7D";
const QUERY_SIGNATURE =
  "C9PrZx8RTw7NF+e6SLmZxKgUBdXjH6EmUiu1i85Y6MApfWn4ueNpS4ED5no6uGObU0cfzTdaWyl6gAWDmyO2nG3MjHursadpzpNT8d+HaZapKis+boTHwJLgZXHXtacjX4zx2lOk/AONrKCLkjXRnh/DDp/kNsmDNYEiu+d/SeVvr+cL0XkL0CibAphyQSLYkv7Fh9uel89ax3ZGgVnBx+/MaBLCrYc1UqyYBDqfWPhS9fZf2OSghWMFp9c5dm+ORc97XbgzSOwAl8dcfLSrL/Sb4+L57+JZiq0iURjMXWzAD8FTUFYsJtJOYszRXJKLZNh4WGST39oplhhSdtxcoQ==";

describe("the sandbox's WeChat Pay verifier, on WeChat's published examples", () => {
  it("parses the documentation's Authorization header", () => {
    const header = `WECHATPAY2-SHA256-RSA2048 mchid="1900007291",nonce_str="${NONCE}",signature="${GET_SIGNATURE}",timestamp="${TS}",serial_no="408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"`;
    expect(parseAuthorization(header)).toEqual({
      mchid: "1900007291",
      nonce_str: NONCE,
      signature: GET_SIGNATURE,
      timestamp: TS,
      serial_no: "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
    });
    expect(parseAuthorization(header.replace("WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256"))).toBeTypeOf(
      "string",
    );
    expect(parseAuthorization(header.replace(/,serial_no="[^"]+"/, ""))).toBeTypeOf("string");
  });

  it("verifies the GET example (empty body)", () => {
    const message = requestMessage("GET", "/v3/refund/domestic/refunds/123123123123", TS, NONCE, "");
    expect(message).toBe(`GET\n/v3/refund/domestic/refunds/123123123123\n${TS}\n${NONCE}\n\n`);
    expect(verifySha256Rsa(docKey, message, GET_SIGNATURE)).toBe(true);
    // Junk after the padding decodes to the same bytes in Node; the gateway refuses it.
    expect(verifySha256Rsa(docKey, message, `${GET_SIGNATURE}!3D`)).toBe(false);
    expect(verifySha256Rsa(docKey, message, `${GET_SIGNATURE} `)).toBe(false);
  });

  it("verifies the JSAPI order body example, and refuses it with one byte changed", () => {
    expect(
      verifySha256Rsa(
        docKey,
        requestMessage("POST", "/v3/pay/transactions/jsapi", TS, NONCE, JSAPI_BODY),
        JSAPI_SIGNATURE,
      ),
    ).toBe(true);
    const changed = JSAPI_BODY.replace('"total":100', '"total":101');
    expect(
      verifySha256Rsa(
        docKey,
        requestMessage("POST", "/v3/pay/transactions/jsapi", TS, NONCE, changed),
        JSAPI_SIGNATURE,
      ),
    ).toBe(false);
  });

  it("verifies the query-string example over the URL exactly as sent", () => {
    expect(verifySha256Rsa(docKey, requestMessage("GET", QUERY_URL, TS, NONCE, ""), QUERY_SIGNATURE)).toBe(
      true,
    );
    expect(
      verifySha256Rsa(
        docKey,
        requestMessage("GET", decodeURIComponent(QUERY_URL), TS, NONCE, ""),
        QUERY_SIGNATURE,
      ),
    ).toBe(false);
  });

  it("refuses a probe signature and garbage without throwing", () => {
    const message = requestMessage("GET", "/v3/refund/domestic/refunds/123123123123", TS, NONCE, "");
    expect(verifySha256Rsa(docKey, message, `WECHATPAY/SIGNTEST/${GET_SIGNATURE}`)).toBe(false);
    expect(verifySha256Rsa(docKey, message, "")).toBe(false);
  });
});

describe("the sandbox's AEAD_AES_256_GCM", () => {
  it("reproduces wechatpay-java's published vector", () => {
    const r = encryptResource(
      "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb",
      "message",
      "associatedData",
      "uluk4a9R25RW",
    );
    expect(r).toEqual({
      algorithm: "AEAD_AES_256_GCM",
      ciphertext: "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=",
      associated_data: "associatedData",
      nonce: "uluk4a9R25RW",
    });
  });
});
