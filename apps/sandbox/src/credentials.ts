import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  alipayCertificates,
  alnum,
  appleChain,
  digits,
  hex,
  issueUnderRoot,
  merchantCertificate,
  newMerchant,
  platformCertificate,
  rsaPair,
} from "./keygen";

/** One test merchant: what the sandbox knows of it, and the secrets it hands the merchant (test-only). */
export interface SandboxMerchant {
  /** The merchant's name on pay pages. */
  name: string;
  wechat: {
    mchId: string;
    /** App ids bound to this mchid: mini program, official account (browsers), native app. */
    appIds: { miniProgram: string; officialAccount: string; app: string };
    apiV3Key: string;
    /** The official account's AppSecret: the merchant's server trades web-authorisation codes for openids with it. */
    officialAccountSecret?: string;
    /** The merchant API certificate's serial and keys (the merchant signs requests with the private key). */
    merchantSerialNo: string;
    merchantPublicKey: string;
    merchantPrivateKey: string;
    /** The merchant API certificate (apiclient_cert.pem) for that key and serial. */
    merchantCertificate?: string;
    /** Mini-program virtual payment (xpay) and the mini program's message push and login secrets. */
    virtual?: {
      offerId: string;
      appKey: string;
      sandboxAppKey: string;
      token: string;
      encodingAESKey: string;
      appSecret: string;
    };
  };
  alipay: {
    appId: string;
    sellerId: string;
    /** The app's key pair: the merchant signs with the private key, the gateway verifies with the public. */
    appPublicKey: string;
    appPrivateKey: string;
    /** Certificate mode: the app's public key in a certificate issued by the sandbox's Alipay root CA. */
    appCertificate?: string;
  };
  /** The iOS app's bundle id, for Apple in-app purchase. */
  appleBundleId?: string;
  /**
   * The App Store Server API key (App Store Connect > Users and Access > Integrations): its key id, the team's
   * issuer id, the P-256 private key (.p8) the merchant signs its JWTs with, and the public key the sandbox checks.
   */
  appleApiKey?: { keyId: string; issuerId: string; privateKey: string; publicKey: string };
}

/** The gateway's own keys: the WeChat Pay platform certificate, the WeChat Pay public key, the Alipay key. */
export interface GatewayKeys {
  wechatPlatform: {
    serialNo: string;
    certificatePem: string;
    privateKey: string;
    notBefore: string;
    notAfter: string;
  };
  wechatPublicKey: { id: string; publicKey: string; privateKey: string };
  alipay: { publicKey: string; privateKey: string };
  /** The App Store's side: a root CA, an intermediate and a signing leaf (P-256), with Apple's marker extensions. */
  apple?: {
    rootCertificate: string;
    intermediateCertificate: string;
    leafCertificate: string;
    leafPrivateKey: string;
  };
  /** Certificate mode: the sandbox's Alipay root CA and the Alipay public key's certificate it issued. */
  alipayCertificates?: { rootCertificate: string; rootPrivateKey: string; publicKeyCertificate: string };
}

export interface SandboxCredentials {
  gateway: GatewayKeys;
  merchants: SandboxMerchant[];
}

/** Writes a file so that a crash leaves either the old or the new content, never half of one. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * Loads the sandbox's keys from the data dir, generating them on first start (and a merchant per missing
 * index up to `merchantCount`). Everything generated here is for the sandbox only.
 */
export async function loadOrCreateCredentials(
  dataDir: string,
  merchantCount = 1,
): Promise<SandboxCredentials> {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "credentials.json");
  let credentials: SandboxCredentials;
  let changed = false;
  if (existsSync(file)) {
    credentials = JSON.parse(readFileSync(file, "utf8")) as SandboxCredentials;
  } else {
    const [publicKeyPair, wechatPlatform, alipay] = await Promise.all([
      rsaPair(),
      platformCertificate(),
      rsaPair(),
    ]);
    credentials = {
      gateway: {
        wechatPlatform,
        wechatPublicKey: { id: `PUB_KEY_ID_01${digits(28)}`, ...publicKeyPair },
        alipay,
      },
      merchants: [],
    };
    changed = true;
  }
  // Merchants, and the later additions that data dirs from before get now, are generated side by side.
  const { gateway } = credentials;
  const first = credentials.merchants.length;
  const [added, apple, alipayCerts] = await Promise.all([
    Promise.all(Array.from({ length: Math.max(0, merchantCount - first) }, (_, i) => newMerchant(first + i))),
    gateway.apple ?? appleChain(),
    gateway.alipayCertificates ?? alipayCertificates(gateway.alipay.publicKey),
  ]);
  if (added.length > 0 || !gateway.apple || !gateway.alipayCertificates) changed = true;
  credentials.merchants.push(...added);
  gateway.apple = apple;
  gateway.alipayCertificates = alipayCerts;
  for (const [index, m] of credentials.merchants.entries()) {
    if (!m.appleBundleId) {
      m.appleBundleId = `com.paykit.sandbox.shop${index + 1}`;
      changed = true;
    }
    if (!m.wechat.virtual) {
      m.wechat.virtual = {
        offerId: digits(10),
        appKey: alnum(32),
        sandboxAppKey: alnum(32),
        token: alnum(32),
        encodingAESKey: randomBytes(32).toString("base64").slice(0, 43),
        appSecret: hex(16).toLowerCase(),
      };
      changed = true;
    }
    if (!m.appleApiKey) {
      const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
      m.appleApiKey = {
        keyId: alnum(10).toUpperCase(),
        issuerId: randomUUID(),
        privateKey: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        publicKey: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
      };
      changed = true;
    }
    if (!m.wechat.officialAccountSecret) {
      m.wechat.officialAccountSecret = hex(16).toLowerCase();
      changed = true;
    }
    if (!m.wechat.merchantCertificate) {
      m.wechat.merchantCertificate = await merchantCertificate({
        mchId: m.wechat.mchId,
        serialNo: m.wechat.merchantSerialNo,
        publicKey: m.wechat.merchantPublicKey,
        privateKey: m.wechat.merchantPrivateKey,
      });
      changed = true;
    }
    if (!m.alipay.appCertificate) {
      m.alipay.appCertificate = await issueUnderRoot(
        alipayCerts.rootPrivateKey,
        m.alipay.appPublicKey,
        `CN=${m.alipay.appId}, OU=paykit sandbox (test only), O=${m.name}, C=CN`,
      );
      changed = true;
    }
  }
  if (changed) writeFileAtomic(file, JSON.stringify(credentials, null, 2));
  return credentials;
}

/** The file the api reads: every merchant's test credentials and where the sandbox listens. */
export function merchantConfig(credentials: SandboxCredentials, baseUrl: string) {
  const { gateway } = credentials;
  return {
    note: "Generated by @paykit/sandbox. Test-only credentials for the local sandbox gateway: not real, never for production.",
    sandboxUrl: baseUrl,
    merchants: credentials.merchants.map((m, index) => ({
      pid: index === 0 ? "default" : `merchant${index + 1}`,
      name: m.name,
      wxpay: {
        baseUrl,
        mchId: m.wechat.mchId,
        appId: {
          "mp-weixin": m.wechat.appIds.miniProgram,
          "h5-weixin": m.wechat.appIds.officialAccount,
          h5: m.wechat.appIds.officialAccount,
          "app-plus": m.wechat.appIds.app,
        },
        apiV3Key: m.wechat.apiV3Key,
        privateKey: m.wechat.merchantPrivateKey,
        serialNo: m.wechat.merchantSerialNo,
        certificate: m.wechat.merchantCertificate,
        publicKey: gateway.wechatPublicKey.publicKey,
        publicKeyId: gateway.wechatPublicKey.id,
        // The sandbox signs in either mode (SANDBOX_WECHAT_SIGN_MODE): verify with both, like a merchant in transition.
        platformCertificates: true,
        // The official account's web authorisation (openids in WeChat's browser), at the sandbox's stand-in.
        ...(m.wechat.officialAccountSecret && {
          oauth: {
            appSecret: m.wechat.officialAccountSecret,
            authorizeUrl: `${baseUrl}/connect/oauth2/authorize`,
            apiBaseUrl: baseUrl,
          },
        }),
      },
      appleiap: gateway.apple && {
        bundleId: m.appleBundleId,
        environment: "Sandbox",
        // The sandbox's own App Store root (test only): trust it in development and tests, never in production.
        rootCertificates: [gateway.apple.rootCertificate],
        ...(m.appleApiKey
          ? {
              serverApi: {
                keyId: m.appleApiKey.keyId,
                issuerId: m.appleApiKey.issuerId,
                privateKey: m.appleApiKey.privateKey,
                baseUrl,
              },
            }
          : {}),
      },
      wxpayVirtual: m.wechat.virtual && {
        appId: m.wechat.appIds.miniProgram,
        ...m.wechat.virtual,
        env: 0,
        apiBaseUrl: baseUrl,
      },
      alipay: {
        gateway: `${baseUrl}/gateway.do`,
        appId: m.alipay.appId,
        sellerId: m.alipay.sellerId,
        privateKey: m.alipay.appPrivateKey,
        alipayPublicKey: gateway.alipay.publicKey,
        /** Certificate mode instead of alipayPublicKey. */
        certificates: {
          appCertContent: m.alipay.appCertificate,
          alipayPublicCertContent: gateway.alipayCertificates?.publicKeyCertificate,
          alipayRootCertContent: gateway.alipayCertificates?.rootCertificate,
        },
      },
    })),
  };
}
