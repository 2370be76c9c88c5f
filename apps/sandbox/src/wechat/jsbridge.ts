/**
 * A stand-in for the WeixinJSBridge that WeChat's in-app browser gives every page, for pages run against the sandbox
 * (GET /sandbox/wechat-jsbridge.js, served only with the test-control API on). A page loads it only when it runs
 * against the sandbox.
 *
 * `WeixinJSBridge.invoke("getBrandWCPayRequest", params, callback)` opens the sandbox's pay sheet for those params
 * (GET /pay/wxpay/jsapi, which checks them as WeChat's client does) in an iframe over the page; the buyer pays or
 * cancels there, and the callback gets WeChat's `err_msg`: `get_brand_wcpay_request:ok`, `:cancel` or `:fail`.
 * Like the real bridge, it announces itself with a `WeixinJSBridgeReady` event on document. In an ordinary browser
 * it is the whole bridge; inside WeChat (a phone on the LAN), it takes the pay call only, since WeChat's own sheet
 * cannot pay the sandbox's orders, and hands every other call to WeChat's bridge, whenever WeChat adds it.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_4.shtml
 */
export const JSBRIDGE_SCRIPT = `(function () {
  "use strict";
  if (window.__paykitSandboxBridge) return;
  window.__paykitSandboxBridge = true;
  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src).origin : location.origin;
  var FIELDS = ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"];

  function openSheet(params, callback) {
    var query = new URLSearchParams();
    FIELDS.forEach(function (k) { query.set(k, params && params[k] != null ? String(params[k]) : ""); });
    var overlay = document.createElement("div");
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "WeChat Pay");
    overlay.setAttribute("data-testid", "wechat-pay-sheet");
    overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.55);" +
      "display:flex;align-items:flex-end;justify-content:center";
    var frame = document.createElement("iframe");
    frame.title = "WeChat Pay (paykit sandbox)";
    frame.src = origin + "/pay/wxpay/jsapi?" + query.toString();
    frame.style.cssText = "width:100%;max-width:480px;height:min(620px,92vh);border:0;" +
      "border-radius:12px 12px 0 0;background:#fff";
    overlay.appendChild(frame);
    var opener = document.activeElement;
    function onMessage(event) {
      if (event.source !== frame.contentWindow || event.origin !== origin) return;
      var data = event.data;
      if (!data || data.type !== "paykit-sandbox-wechat-sheet") return;
      window.removeEventListener("message", onMessage);
      overlay.remove();
      if (opener && opener.focus) opener.focus();
      if (typeof callback === "function") callback({ err_msg: String(data.err_msg) });
    }
    window.addEventListener("message", onMessage);
    document.body.appendChild(overlay);
    frame.focus();
  }

  // WeChat's own bridge, if the page is in WeChat: there already, or added later (kept by the setter below).
  var real = window.WeixinJSBridge;
  var standIn = {
    invoke: function (name, params, callback) {
      if (name === "getBrandWCPayRequest") return openSheet(params, callback);
      if (real) return real.invoke(name, params, callback);
      if (typeof callback === "function") callback({ err_msg: name + ":fail_not_supported_in_sandbox" });
    },
    call: function () { if (real && real.call) return real.call.apply(real, arguments); },
    on: function () { if (real && real.on) return real.on.apply(real, arguments); },
  };
  try {
    Object.defineProperty(window, "WeixinJSBridge", {
      configurable: true,
      get: function () { return standIn; },
      set: function (bridge) { real = bridge; },
    });
  } catch (e) {
    window.WeixinJSBridge = standIn;
  }
  document.dispatchEvent(new Event("WeixinJSBridgeReady"));
})();
`;
