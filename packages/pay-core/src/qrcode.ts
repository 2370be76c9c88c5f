/**
 * A QR code of `text` as a base64 PNG data URL (what vk-uni-pay returns as `qrcodeImage`). The QR library is loaded
 * on the first call: most payments never ask for an image.
 */
export async function qrcodeDataUrl(text: string): Promise<string> {
  const { default: QRCode } = await import("qrcode");
  return QRCode.toDataURL(text, { errorCorrectionLevel: "M", margin: 2, width: 320, type: "image/png" });
}
