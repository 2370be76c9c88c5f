import { type KeyObject, sign } from "node:crypto";
import { promisify } from "node:util";

const signOnPool = promisify(sign);

/**
 * SHA256withRSA (RSASSA-PKCS1-v1_5) of a UTF-8 text, base64, made on libuv's thread pool: on a hot path the api's one
 * JavaScript thread goes on serving other requests while another core signs (an RSA-2048 signature is the largest
 * single cost of a create). Byte for byte what `createSign("RSA-SHA256")` makes.
 */
export async function sha256WithRsaOffThread(privateKey: KeyObject, text: string): Promise<string> {
  return (await signOnPool("sha256", Buffer.from(text, "utf8"), privateKey)).toString("base64");
}
