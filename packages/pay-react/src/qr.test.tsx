import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { QrCode } from "./qr";

describe("QrCode", () => {
  it("loads qrcode.react when first shown: a placeholder of the same size, then the code as an SVG", async () => {
    const url = "http://127.0.0.1:4010/pay/wxpay/ABC";
    const { container } = render(
      <QrCode value={url} size={220} data-testid="payment-qr" data-content={url} />,
    );
    const placeholder = container.querySelector(".paykit-qr-loading") as HTMLElement | null;
    expect(placeholder?.style.width).toBe("220px");
    const svg = await waitFor(() => screen.getByTestId("payment-qr"));
    expect(svg.tagName.toLowerCase()).toBe("svg");
    expect(svg.getAttribute("data-content")).toBe(url);
    expect(svg.getAttribute("width")).toBe("220");
    expect(container.querySelector(".paykit-qr-loading")).toBeNull();
  });

  it("once loaded, later codes render at once", () => {
    render(<QrCode value="weixin://wxpay/bizpayurl?pr=abc" size={100} data-testid="again" />);
    expect(screen.getByTestId("again").tagName.toLowerCase()).toBe("svg");
  });
});
