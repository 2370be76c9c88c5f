import type { MessageLocale } from "@paykit/pay-core";

type V = Record<string, string | number>;
/** A verdict in words, and what to do about it (absent when nothing needs doing). */
interface Words {
  verdict: (v: V) => string;
  fix?: (v: V) => string;
}

/** Every verdict `paykit doctor` can give. Both locales have every key (TypeScript checks, and a test). */
export type DoctorMessage =
  | "file.unreadable"
  | "file.noMerchants"
  | "provider.none"
  | "apiV3Key.ok"
  | "apiV3Key.length"
  | "mchId.format"
  | "privateKey.ok"
  | "privateKey.unreadable"
  | "privateKey.isPublic"
  | "certificate.ok"
  | "certificate.none"
  | "certificate.unreadable"
  | "certificate.expired"
  | "certificate.expiring"
  | "keyPair.ok"
  | "keyPair.mismatch"
  | "serial.ok"
  | "serial.mismatch"
  | "wxPublicKey.ok"
  | "wxPublicKey.unreadable"
  | "wxPublicKey.isPrivate"
  | "wxPublicKey.isMerchantKey"
  | "wxPublicKey.none"
  | "publicKeyId.format"
  | "alipayPrivateKey.ok"
  | "alipayPrivateKey.unreadable"
  | "alipayPrivateKey.isPublic"
  | "alipayPublicKey.ok"
  | "alipayPublicKey.unreadable"
  | "alipayPublicKey.isPrivate"
  | "alipayPublicKey.isAppKey"
  | "alipayPublicKey.none"
  | "appCert.ok"
  | "appCert.mismatch"
  | "live.ok"
  | "live.unreachable"
  | "live.unexpected"
  | "live.wxMchId"
  | "live.wxSerial"
  | "live.wxSignature"
  | "live.wxAnswerSignature"
  | "live.wxApiV3Key"
  | "live.alipayAppId"
  | "live.alipaySignature"
  | "live.alipayAnswerSignature"
  | "clock.ok"
  | "clock.skewed";

type Table = Record<DoctorMessage, Words>;

const EN: Table = {
  "file.unreadable": {
    verdict: (v) => `cannot read the config: ${v.reason}`,
    fix: () => "give a merchants file ({ merchants: [...] }) with --config, or set MERCHANT_CONFIG",
  },
  "file.noMerchants": {
    verdict: () => "the config has no merchant",
    fix: () => 'list merchants as { "merchants": [{ "pid": "default", "wxpay": {...}, "alipay": {...} }] }',
  },
  "provider.none": { verdict: () => "no wxpay or alipay configuration to check" },
  "apiV3Key.ok": { verdict: () => "is 32 bytes" },
  "apiV3Key.length": {
    verdict: (v) => `is ${v.bytes} bytes, not 32`,
    fix: () =>
      "copy the APIv3 key again from the merchant platform (Account > API security > APIv3 key): exactly 32 characters, no spaces",
  },
  "mchId.format": {
    verdict: () => "is not a merchant number (8 to 12 digits)",
    fix: () => "use the mchid shown at the top of the WeChat Pay merchant platform",
  },
  "privateKey.ok": { verdict: (v) => `a private key (${v.format})` },
  "privateKey.unreadable": {
    verdict: () => "is not a readable private key",
    fix: () => "paste apiclient_key.pem whole, from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----",
  },
  "privateKey.isPublic": {
    verdict: () => "holds a public key or certificate, not a private key",
    fix: () =>
      "privateKey is apiclient_key.pem (the merchant API private key); the certificate goes in certificate",
  },
  "certificate.ok": { verdict: (v) => `valid until ${v.date}` },
  "certificate.none": {
    verdict: () => "not given: serialNo, key pair and expiry are checked only with --live",
    fix: () => "add certificate: the contents of apiclient_cert.pem",
  },
  "certificate.unreadable": {
    verdict: () => "is not a readable certificate",
    fix: () =>
      "paste apiclient_cert.pem whole, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----",
  },
  "certificate.expired": {
    verdict: (v) => `expired on ${v.date}`,
    fix: () => "apply for a new merchant API certificate, then update privateKey, certificate and serialNo",
  },
  "certificate.expiring": {
    verdict: (v) => `expires on ${v.date}, in ${v.days} days`,
    fix: () => "renew the certificate before it expires",
  },
  "keyPair.ok": { verdict: () => "the private key signs what the certificate verifies" },
  "keyPair.mismatch": {
    verdict: () => "the private key does not belong to this certificate",
    fix: () => "use the apiclient_key.pem that was made with this apiclient_cert.pem (same download)",
  },
  "serial.ok": { verdict: () => "matches the certificate" },
  "serial.mismatch": {
    verdict: (v) => `${v.configured} is not the certificate's serial (${v.actual})`,
    fix: (v) => `set serialNo to ${v.actual} (openssl x509 -noout -serial -in apiclient_cert.pem)`,
  },
  "wxPublicKey.ok": { verdict: () => "a public key, not the merchant's own" },
  "wxPublicKey.unreadable": {
    verdict: () => "is not a readable public key",
    fix: () => "paste pub_key.pem (WeChat Pay public key) whole",
  },
  "wxPublicKey.isPrivate": {
    verdict: () => "holds a private key",
    fix: () => "publicKey is WeChat Pay's public key (pub_key.pem); a private key never goes there",
  },
  "wxPublicKey.isMerchantKey": {
    verdict: () => "is the merchant's own public key, not WeChat Pay's",
    fix: () =>
      "download the WeChat Pay public key (Account > API security > WeChat Pay public key) and put it and its PUB_KEY_ID_ in publicKey and publicKeyId",
  },
  "wxPublicKey.none": {
    verdict: () => "not set: WeChat's answers are verified with downloaded platform certificates",
  },
  "publicKeyId.format": {
    verdict: () => "does not look like PUB_KEY_ID_...",
    fix: () => "copy the public key's id shown next to it on the merchant platform",
  },
  "alipayPrivateKey.ok": { verdict: (v) => `a private key (${v.format})` },
  "alipayPrivateKey.unreadable": {
    verdict: () => "is not a readable private key",
    fix: () =>
      "paste the app private key (应用私钥) made with Alipay's key tool, PKCS#8 or PKCS#1, PEM or bare base64",
  },
  "alipayPrivateKey.isPublic": {
    verdict: () => "holds a public key, not the app private key",
    fix: () =>
      "privateKey is the app private key; the app public key is uploaded to Alipay, never configured here",
  },
  "alipayPublicKey.ok": { verdict: () => "a public key, not the app's own" },
  "alipayPublicKey.unreadable": {
    verdict: () => "is not a readable public key",
    fix: () =>
      "paste the Alipay public key (支付宝公钥) shown in the Alipay console after uploading the app public key",
  },
  "alipayPublicKey.isPrivate": {
    verdict: () => "holds a private key: the keys are swapped",
    fix: () => "alipayPublicKey is Alipay's public key; put the app private key in privateKey",
  },
  "alipayPublicKey.isAppKey": {
    verdict: () => "is the app's own public key (应用公钥), not Alipay's public key (支付宝公钥)",
    fix: () =>
      "in the Alipay console (Development settings > Interface signing method) copy the Alipay public key, not the app public key you uploaded",
  },
  "alipayPublicKey.none": {
    verdict: () => "neither alipayPublicKey nor certificates are set",
    fix: () => "set alipayPublicKey (public-key mode) or the three certificates (certificate mode)",
  },
  "appCert.ok": { verdict: () => "the app private key matches the app certificate" },
  "appCert.mismatch": {
    verdict: () => "the app private key does not belong to appCertContent",
    fix: () => "use the app certificate (appCertPublicKey_*.crt) issued for this private key's CSR",
  },
  "live.ok": { verdict: (v) => `the gateway answered ${v.answer}: the keys work` },
  "live.unreachable": {
    verdict: (v) => `could not reach ${v.url}: ${v.reason}`,
    fix: () => "check the gateway URL, DNS, proxy and firewall",
  },
  "live.unexpected": {
    verdict: (v) => `unexpected answer ${v.status} ${v.code}: ${v.message}`,
    fix: () => "read the gateway's message; run again with --lang en or zh-CN for more",
  },
  "live.wxMchId": {
    verdict: () => "WeChat Pay does not know this mchId",
    fix: () => "use the mchid of the merchant the certificate was issued to",
  },
  "live.wxSerial": {
    verdict: () => "WeChat Pay knows no merchant certificate with this serialNo",
    fix: () => "set serialNo to your current apiclient_cert.pem's serial (openssl x509 -noout -serial)",
  },
  "live.wxSignature": {
    verdict: () =>
      "WeChat Pay refused the signature: privateKey is not the key of the certificate it holds for serialNo",
    fix: () => "use the apiclient_key.pem issued with the certificate whose serial is serialNo",
  },
  "live.wxAnswerSignature": {
    verdict: () => "WeChat Pay's answer does not verify with publicKey (or the platform certificates)",
    fix: () =>
      "publicKey must be WeChat Pay's public key with its PUB_KEY_ID_ (merchant platform > API security)",
  },
  "live.wxApiV3Key": {
    verdict: () => "the platform certificates cannot be decrypted: apiV3Key is not this merchant's",
    fix: () => "set the APIv3 key again on the merchant platform and copy it into apiV3Key",
  },
  "live.alipayAppId": {
    verdict: () => "Alipay does not know this appId",
    fix: () => "use the app id (2021...) shown in the Alipay open platform console",
  },
  "live.alipaySignature": {
    verdict: () =>
      "Alipay refused the signature: privateKey does not match the app public key set in the Alipay console",
    fix: () =>
      "upload the public half of privateKey as the app public key (应用公钥) in the console, or use the private key that belongs to the uploaded one",
  },
  "live.alipayAnswerSignature": {
    verdict: () => "Alipay's answer does not verify with alipayPublicKey",
    fix: () => "copy the Alipay public key (支付宝公钥) again from the console: not the app public key",
  },
  "clock.ok": { verdict: (v) => `${v.skew} s from the gateway's clock` },
  "clock.skewed": {
    verdict: (v) => `${v.skew} s from the gateway's clock`,
    fix: () =>
      "synchronise this machine's clock (NTP): gateways refuse requests signed more than 5 minutes off",
  },
};

const ZH: Table = {
  "file.unreadable": {
    verdict: (v) => `无法读取配置：${v.reason}`,
    fix: () => "用 --config 指定商户配置文件（{ merchants: [...] }），或设置 MERCHANT_CONFIG",
  },
  "file.noMerchants": {
    verdict: () => "配置中没有商户",
    fix: () => '按 { "merchants": [{ "pid": "default", "wxpay": {...}, "alipay": {...} }] } 列出商户',
  },
  "provider.none": { verdict: () => "没有可检查的 wxpay 或 alipay 配置" },
  "apiV3Key.ok": { verdict: () => "长度为 32 字节" },
  "apiV3Key.length": {
    verdict: (v) => `长度为 ${v.bytes} 字节，应为 32 字节`,
    fix: () => "从商户平台（账户中心 > API安全 > APIv3密钥）重新复制 APIv3 密钥：恰好 32 个字符，不含空格",
  },
  "mchId.format": {
    verdict: () => "不是商户号（8 到 12 位数字）",
    fix: () => "使用微信支付商户平台顶部显示的商户号",
  },
  "privateKey.ok": { verdict: (v) => `私钥（${v.format}）` },
  "privateKey.unreadable": {
    verdict: () => "不是可读取的私钥",
    fix: () => "完整粘贴 apiclient_key.pem，从 -----BEGIN PRIVATE KEY----- 到 -----END PRIVATE KEY-----",
  },
  "privateKey.isPublic": {
    verdict: () => "填的是公钥或证书，而不是私钥",
    fix: () => "privateKey 应为 apiclient_key.pem（商户 API 私钥）；证书请填在 certificate",
  },
  "certificate.ok": { verdict: (v) => `有效期至 ${v.date}` },
  "certificate.none": {
    verdict: () => "未提供：证书序列号、密钥对和有效期只能用 --live 检查",
    fix: () => "添加 certificate：apiclient_cert.pem 的内容",
  },
  "certificate.unreadable": {
    verdict: () => "不是可读取的证书",
    fix: () => "完整粘贴 apiclient_cert.pem，从 -----BEGIN CERTIFICATE----- 到 -----END CERTIFICATE-----",
  },
  "certificate.expired": {
    verdict: (v) => `已于 ${v.date} 过期`,
    fix: () => "申请新的商户 API 证书，然后更新 privateKey、certificate 和 serialNo",
  },
  "certificate.expiring": {
    verdict: (v) => `将于 ${v.date} 过期（还有 ${v.days} 天）`,
    fix: () => "请在过期前更换证书",
  },
  "keyPair.ok": { verdict: () => "私钥与证书匹配（签名可被证书验证）" },
  "keyPair.mismatch": {
    verdict: () => "私钥与此证书不匹配",
    fix: () => "使用与此 apiclient_cert.pem 同时生成的 apiclient_key.pem",
  },
  "serial.ok": { verdict: () => "与证书一致" },
  "serial.mismatch": {
    verdict: (v) => `${v.configured} 不是证书的序列号（${v.actual}）`,
    fix: (v) => `将 serialNo 设为 ${v.actual}（openssl x509 -noout -serial -in apiclient_cert.pem）`,
  },
  "wxPublicKey.ok": { verdict: () => "是公钥，且不是商户自己的公钥" },
  "wxPublicKey.unreadable": {
    verdict: () => "不是可读取的公钥",
    fix: () => "完整粘贴 pub_key.pem（微信支付公钥）",
  },
  "wxPublicKey.isPrivate": {
    verdict: () => "填的是私钥",
    fix: () => "publicKey 应为微信支付公钥（pub_key.pem），这里绝不能填私钥",
  },
  "wxPublicKey.isMerchantKey": {
    verdict: () => "填的是商户自己的公钥，而不是微信支付公钥",
    fix: () =>
      "在商户平台（账户中心 > API安全 > 微信支付公钥）下载微信支付公钥，将它和 PUB_KEY_ID_ 开头的 ID 分别填入 publicKey 和 publicKeyId",
  },
  "wxPublicKey.none": { verdict: () => "未设置：用下载的平台证书验证微信支付的应答" },
  "publicKeyId.format": {
    verdict: () => "不像 PUB_KEY_ID_... 格式",
    fix: () => "复制商户平台上公钥旁显示的公钥 ID",
  },
  "alipayPrivateKey.ok": { verdict: (v) => `私钥（${v.format}）` },
  "alipayPrivateKey.unreadable": {
    verdict: () => "不是可读取的私钥",
    fix: () => "粘贴用支付宝密钥工具生成的应用私钥（PKCS#8 或 PKCS#1，PEM 或纯 base64）",
  },
  "alipayPrivateKey.isPublic": {
    verdict: () => "填的是公钥，而不是应用私钥",
    fix: () => "privateKey 应为应用私钥；应用公钥是上传到支付宝的，不在这里配置",
  },
  "alipayPublicKey.ok": { verdict: () => "是公钥，且不是应用自己的公钥" },
  "alipayPublicKey.unreadable": {
    verdict: () => "不是可读取的公钥",
    fix: () => "粘贴上传应用公钥后支付宝控制台显示的支付宝公钥",
  },
  "alipayPublicKey.isPrivate": {
    verdict: () => "填的是私钥：密钥填反了",
    fix: () => "alipayPublicKey 应为支付宝公钥；应用私钥请填在 privateKey",
  },
  "alipayPublicKey.isAppKey": {
    verdict: () => "填的是应用公钥，而不是支付宝公钥",
    fix: () => "在支付宝控制台（开发设置 > 接口加签方式）复制“支付宝公钥”，而不是您上传的应用公钥",
  },
  "alipayPublicKey.none": {
    verdict: () => "alipayPublicKey 和证书都没有设置",
    fix: () => "设置 alipayPublicKey（公钥模式）或三个证书（证书模式）",
  },
  "appCert.ok": { verdict: () => "应用私钥与应用公钥证书匹配" },
  "appCert.mismatch": {
    verdict: () => "应用私钥与 appCertContent 不匹配",
    fix: () => "使用用此私钥的 CSR 申请到的应用公钥证书（appCertPublicKey_*.crt）",
  },
  "live.ok": { verdict: (v) => `网关返回 ${v.answer}：密钥可用` },
  "live.unreachable": {
    verdict: (v) => `无法连接 ${v.url}：${v.reason}`,
    fix: () => "检查网关地址、DNS、代理和防火墙",
  },
  "live.unexpected": {
    verdict: (v) => `意外的应答 ${v.status} ${v.code}：${v.message}`,
    fix: () => "查看网关返回的信息",
  },
  "live.wxMchId": {
    verdict: () => "微信支付不认识此商户号（mchId）",
    fix: () => "使用证书所属商户的商户号",
  },
  "live.wxSerial": {
    verdict: () => "微信支付没有此 serialNo 对应的商户证书",
    fix: () => "将 serialNo 设为当前 apiclient_cert.pem 的序列号（openssl x509 -noout -serial）",
  },
  "live.wxSignature": {
    verdict: () => "微信支付验签失败：privateKey 与微信支付登记的 serialNo 证书不匹配",
    fix: () => "使用与序列号为 serialNo 的证书一同生成的 apiclient_key.pem",
  },
  "live.wxAnswerSignature": {
    verdict: () => "微信支付的应答无法用 publicKey（或平台证书）验证",
    fix: () => "publicKey 须为微信支付公钥，publicKeyId 为对应的 PUB_KEY_ID_（商户平台 > API安全）",
  },
  "live.wxApiV3Key": {
    verdict: () => "无法解密平台证书：apiV3Key 不是此商户的 APIv3 密钥",
    fix: () => "在商户平台重新设置 APIv3 密钥并填入 apiV3Key",
  },
  "live.alipayAppId": {
    verdict: () => "支付宝不认识此 appId",
    fix: () => "使用支付宝开放平台控制台显示的应用 ID（2021...）",
  },
  "live.alipaySignature": {
    verdict: () => "支付宝验签失败：privateKey 与支付宝控制台中设置的应用公钥不匹配",
    fix: () => "在控制台把 privateKey 对应的公钥设为应用公钥，或改用与已上传公钥配对的私钥",
  },
  "live.alipayAnswerSignature": {
    verdict: () => "支付宝的应答无法用 alipayPublicKey 验证",
    fix: () => "从控制台重新复制支付宝公钥（不是应用公钥）",
  },
  "clock.ok": { verdict: (v) => `与网关时钟相差 ${v.skew} 秒` },
  "clock.skewed": {
    verdict: (v) => `与网关时钟相差 ${v.skew} 秒`,
    fix: () => "同步本机时钟（NTP）：网关拒绝时间偏差超过 5 分钟的签名请求",
  },
};

export const DOCTOR_MESSAGES: Record<MessageLocale, Table> = { en: EN, "zh-CN": ZH };

/** Labels of the report. */
export const DOCTOR_LABELS: Record<
  MessageLocale,
  {
    ok: string;
    fail: string;
    warn: string;
    skip: string;
    fix: string;
    summary: (failed: number, warned: number, total: number) => string;
  }
> = {
  en: {
    ok: "ok",
    fail: "FAIL",
    warn: "warn",
    skip: "skip",
    fix: "fix",
    summary: (f, w, t) =>
      f === 0 ? `all ${t} checks passed${w ? ` (${w} warnings)` : ""}` : `${f} of ${t} checks failed`,
  },
  "zh-CN": {
    ok: "通过",
    fail: "失败",
    warn: "注意",
    skip: "跳过",
    fix: "修正",
    summary: (f, w, t) =>
      f === 0 ? `全部 ${t} 项检查通过${w ? `（${w} 项需注意）` : ""}` : `${t} 项检查中有 ${f} 项失败`,
  },
};
