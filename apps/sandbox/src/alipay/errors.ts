/**
 * Alipay's error answers: a gateway code (40001 missing, 40002 invalid, 40004 business) with the sub_code and
 * sub_msg that say what went wrong.
 * @see https://opendocs.alipay.com/common/02km9f (error codes)
 */

/** An error answer in Alipay's shape. */
export class AliError extends Error {
  constructor(
    readonly code: string,
    readonly msg: string,
    readonly subCode: string,
    readonly subMsg: string,
  ) {
    super(subMsg);
  }
}

export const missing = (what: string, subMsg: string) =>
  new AliError("40001", "Missing Required Arguments", `isv.missing-${what}`, subMsg);
export const invalid = (what: string, subMsg: string) =>
  new AliError("40002", "Invalid Arguments", `isv.invalid-${what}`, subMsg);
export const business = (subCode: string, subMsg: string) =>
  new AliError("40004", "Business Failed", subCode, subMsg);
export const badParam = (subMsg: string) => business("ACQ.INVALID_PARAMETER", `参数无效: ${subMsg}`);

export function errorBody(e: AliError) {
  return { code: e.code, msg: e.msg, sub_code: e.subCode, sub_msg: e.subMsg };
}
