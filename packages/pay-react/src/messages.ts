/**
 * What the checkout says to buyers, per locale. English is the default; every locale has every text (TypeScript
 * checks it, and a test checks the words are for buyers: no field paths, no codes).
 */
export const LOCALES = ["en", "zh-CN"] as const;
export type Locale = (typeof LOCALES)[number];

/** The providers the checkout names, and the app a buyer scans a provider's code with. */
type Names = Record<"wxpay" | "alipay", { name: string; app: string }>;

export interface CheckoutTexts {
  names: Names;
  checkout: string;
  chooseHow: string;
  payWith(name: string): string;
  payWithInstead(name: string): string;
  creating(name: string): string;
  authorizing: string;
  scan(app: string, amount: string, merchant: string): string;
  payWithin(time: string): string;
  openPayPage: string;
  cancel: string;
  redirecting(name: string): string;
  confirmIn(app: string): string;
  paid(amount: string): string;
  expired: string;
  startAgain: string;
  cancelled: string;
  tryAgain: string;
  reload: string;
  openInBrowserTitle(name: string): string;
  openInBrowserSteps(name: string): string;
  openInBrowserPicture: string;
  pageLink: string;
  copyLink: string;
  linkCopied: string;
  chooseOther: string;
  qrLabel(name: string): string;
  qrFailed: string;
  showAgain: string;
}

export const TEXTS: Record<Locale, CheckoutTexts> = {
  en: {
    names: { wxpay: { name: "WeChat Pay", app: "WeChat" }, alipay: { name: "Alipay", app: "Alipay" } },
    checkout: "Checkout",
    chooseHow: "Choose how to pay",
    payWith: (name) => `Pay with ${name}`,
    payWithInstead: (name) => `Pay with ${name} instead`,
    creating: (name) => `Setting up the payment with ${name}…`,
    authorizing: "Checking your WeChat account…",
    scan: (app, amount, merchant) =>
      `Open ${app} on your phone and scan this code to pay ${amount} to ${merchant}.`,
    payWithin: (time) => `Pay within ${time}`,
    openPayPage: "No phone at hand? Open the pay page here (sandbox)",
    cancel: "Cancel",
    redirecting: (name) => `Opening ${name}… Come back to this page once you have paid.`,
    confirmIn: (app) => `Confirm the payment in ${app}.`,
    paid: (amount) => `Paid ${amount}. Thank you!`,
    expired: "This payment has expired.",
    startAgain: "Start again",
    cancelled: "Payment cancelled. You can pay again:",
    tryAgain: "Try again",
    reload: "Reload the page",
    openInBrowserTitle: (name) => `Open this page in your browser to pay with ${name}`,
    openInBrowserSteps: (name) =>
      `WeChat does not open ${name}. Tap ··· at the top right, choose “Open in Browser”, and pay with ${name} there.`,
    openInBrowserPicture: "The ··· button at the top right of WeChat, and the “Open in Browser” menu item",
    pageLink: "This page's link",
    copyLink: "Copy the link",
    linkCopied: "Link copied: paste it in your browser.",
    chooseOther: "Choose another way to pay",
    qrLabel: (name) => `QR code to pay with ${name}`,
    qrFailed: "The QR code could not be loaded.",
    showAgain: "Show it again",
  },
  "zh-CN": {
    names: { wxpay: { name: "微信支付", app: "微信" }, alipay: { name: "支付宝", app: "支付宝" } },
    checkout: "结账",
    chooseHow: "选择支付方式",
    payWith: (name) => `使用${name}`,
    payWithInstead: (name) => `改用${name}`,
    creating: (name) => `正在创建${name}订单…`,
    authorizing: "正在确认您的微信账号…",
    scan: (app, amount, merchant) => `请打开手机${app}，扫描二维码向${merchant}支付 ${amount}。`,
    payWithin: (time) => `请在 ${time} 内完成支付`,
    openPayPage: "手边没有手机？在此打开支付页面（沙箱）",
    cancel: "取消",
    redirecting: (name) => `正在打开${name}…支付完成后请回到本页面。`,
    confirmIn: (app) => `请在${app}中确认支付。`,
    paid: (amount) => `已支付 ${amount}，谢谢！`,
    expired: "支付已超时。",
    startAgain: "重新开始",
    cancelled: "支付已取消，您可以重新支付：",
    tryAgain: "重试",
    reload: "刷新页面",
    openInBrowserTitle: (name) => `请在浏览器中打开本页面，使用${name}`,
    openInBrowserSteps: (name) =>
      `微信内无法打开${name}。请点击右上角的“···”，选择“在浏览器打开”，然后在浏览器中使用${name}。`,
    openInBrowserPicture: "微信右上角的“···”按钮和“在浏览器打开”菜单",
    pageLink: "本页面链接",
    copyLink: "复制链接",
    linkCopied: "链接已复制，请粘贴到浏览器中打开。",
    chooseOther: "选择其他支付方式",
    qrLabel: (name) => `${name}付款二维码`,
    qrFailed: "二维码加载失败。",
    showAgain: "重新加载",
  },
};

/** The texts for a locale; an unknown one (a host app's typo) falls back to English. */
export const textsFor = (locale: Locale | undefined): CheckoutTexts => TEXTS[locale ?? "en"] ?? TEXTS.en;
