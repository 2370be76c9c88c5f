import { describe, expect, it } from "vitest";
import { detectEnvironment } from "./environment";

describe("detectEnvironment (in the browser)", () => {
  it.each([
    [
      "Linux desktop Chrome",
      {
        userAgent:
          "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
      },
      true,
    ],
    [
      "Windows Firefox",
      { userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0" },
      true,
    ],
    [
      "WeChat on Windows",
      {
        userAgent:
          "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x6309092b) XWEB/8555 Flue",
      },
      true,
    ],
    [
      "iPhone Safari",
      {
        userAgent:
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        maxTouchPoints: 5,
      },
      false,
    ],
    [
      "an iPad that says Macintosh",
      {
        userAgent:
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        maxTouchPoints: 5,
      },
      false,
    ],
    [
      "a Mac",
      {
        userAgent:
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        maxTouchPoints: 0,
      },
      true,
    ],
  ])("%s: isPC %s", (_name, nav, isPC) => {
    expect(detectEnvironment(nav).isPC).toBe(isPC);
  });

  it("knows the WeChat and Alipay browsers", () => {
    const wechat = detectEnvironment({
      userAgent:
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2c) NetType/WIFI Language/zh_CN",
    });
    expect(wechat).toMatchObject({ inWechat: true, inAlipay: false, isPC: false });
    const alipay = detectEnvironment({
      userAgent:
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 ChannelId(19) Ariver/1.1.0 AliApp(AP/10.5.26.6000) Nebula WK AlipayClient/10.5.26.6000 Language/zh-Hans Region/CN",
    });
    expect(alipay).toMatchObject({ inAlipay: true, inWechat: false });
  });
});
