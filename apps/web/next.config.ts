import type { NextConfig } from "next";

const api = process.env.PAYKIT_API_URL ?? "http://127.0.0.1:4000";

const config: NextConfig = {
  // The packages are TypeScript source (no build step between a change and the site).
  transpilePackages: ["@paykit/pay-react", "@paykit/pay-core"],
  serverExternalPackages: ["@electric-sql/pglite", "pg", "alipay-sdk"],
  images: { unoptimized: true },
  // Server-sent events (the live order status) must not sit in a compression buffer.
  compress: false,
  poweredByHeader: false,
  // The browser talks to the api through the site's own origin: no CORS, and the api sees the buyer's IP in
  // X-Forwarded-For (run it with TRUST_PROXY=1).
  async rewrites() {
    return [{ source: "/trpc/:path*", destination: `${api}/trpc/:path*` }];
  },
};

export default config;
