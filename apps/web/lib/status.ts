/** How an order's status (vk-pay-orders' numbers) reads on the site. */
export const STATUS_TEXT: Record<number, { text: string; className: string }> = {
  [-1]: { text: "closed", className: "status-closed" },
  0: { text: "unpaid", className: "status-unpaid" },
  1: { text: "paid", className: "status-paid" },
  2: { text: "partly refunded", className: "status-paid" },
  3: { text: "refunded", className: "status-closed" },
};
