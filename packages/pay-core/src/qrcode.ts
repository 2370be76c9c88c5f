import QRCode from "qrcode";

/** A QR code of `text` as a base64 PNG data URL (what vk-uni-pay returns as `qrcodeImage`). */
export function qrcodeDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { errorCorrectionLevel: "M", margin: 2, width: 320, type: "image/png" });
}
