import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "paykit demo tea shop",
  description: "A checkout on paykit, against the local sandbox gateway.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="site">
          <strong>paykit demo tea shop</strong>
          <Link href="/">Shop</Link>
          <Link href="/cart">Cart</Link>
          <Link href="/orders">Orders</Link>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
