export * from "./adapter";
export * from "./contract/context";
export * from "./contract/input";
export * from "./contract/pay-types";
export * from "./contract/providers";
export * from "./contract/resolve";
export * from "./contract/result";
export * from "./errors";
