import { ERROR_CODES, ERROR_MESSAGES } from "@paykit/pay-core";
import { z } from "zod";
import { REST_ROUTES, type RestRoute } from "./routes";
import { errorSchema, orderListSchema, orderSchema, paymentSchema, refundSchema } from "./schemas";

type Json = Record<string, unknown>;

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as a request (`input`) or an answer (`output`). */
const jsonSchema = (schema: z.ZodType, io: "input" | "output"): Json => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
  }) as Json;
  return rest;
};

/** The answers every route shares by name, under components.schemas. */
const NAMED = new Map<z.ZodType, string>([
  [orderSchema, "Order"],
  [refundSchema, "Refund"],
  [paymentSchema, "Payment"],
  [errorSchema, "Error"],
]);
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const responseSchema = (schema: z.ZodType): Json => {
  const named = NAMED.get(schema);
  if (named) return ref(named);
  if (schema === orderListSchema) return { type: "array", items: ref("Order") };
  return jsonSchema(schema, "output");
};

const parameters = (route: RestRoute): Json[] => {
  const of = (object: z.ZodObject | undefined, where: "path" | "query") =>
    Object.entries(object?.shape ?? {}).map(([name, field]) => {
      const schema = jsonSchema(field as z.ZodType, "input");
      return {
        name,
        in: where,
        required: where === "path" || !(field as z.ZodType).safeParse(undefined).success,
        ...(schema.description ? { description: schema.description } : {}),
        schema,
      };
    });
  const headers: Json[] = route.idempotent
    ? [
        {
          name: "Idempotency-Key",
          in: "header",
          required: false,
          description:
            "The same key and request replay the first answer; the same key with another request is IDEMPOTENCY_CONFLICT. At most 200 characters.",
          schema: { type: "string", maxLength: 200 },
        },
      ]
    : [];
  headers.push({
    name: "Accept-Language",
    in: "header",
    required: false,
    description: "zh-CN for error messages in Chinese (codes stay the same); English by default.",
    schema: { type: "string" },
  });
  return [...of(route.params, "path"), ...of(route.query, "query"), ...headers];
};

const statuses = [...new Set(Object.values(ERROR_CODES).map((c) => c.status))].sort();

/**
 * The OpenAPI 3.1 document of the REST routes, made from the routes' table and the procedures' own zod schemas
 * (never written twice). Served as /openapi.json; the reference page (/docs) is rendered from it.
 */
export function openApiDocument(version = "0.1.0"): Json {
  const paths: Record<string, Json> = {};
  for (const route of REST_ROUTES) {
    const errors = Object.fromEntries(
      statuses.map((status) => [
        String(status),
        {
          description: Object.entries(ERROR_CODES)
            .filter(([, c]) => c.status === status)
            .map(([code]) => code)
            .join(", "),
          content: { "application/json": { schema: ref("Error") } },
        },
      ]),
    );
    paths[route.path] = {
      ...paths[route.path],
      [route.method.toLowerCase()]: {
        operationId: route.operationId,
        summary: route.summary,
        description: route.description,
        security: route.auth === "apiKey" ? [{ apiKey: [] }] : [{ apiKey: [] }, {}],
        parameters: parameters(route),
        ...(route.body
          ? {
              requestBody: {
                required: true,
                content: { "application/json": { schema: jsonSchema(route.body, "input") } },
              },
            }
          : {}),
        responses: {
          [String(route.status)]: {
            description: "OK",
            content: { "application/json": { schema: responseSchema(route.response) } },
          },
          ...errors,
        },
      },
    };
  }
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "paykit api",
      version,
      description:
        "One createPayment call for WeChat Pay, Alipay, Apple IAP and WeChat virtual payment. Every route is the tRPC procedure of the same name under /trpc: the same auth, Idempotency-Key, validation, error codes and answers. Amounts are integer fen.",
    },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description: "A server-to-server API key: Authorization: Bearer <key>",
        },
      },
      schemas: Object.fromEntries([...NAMED].map(([schema, name]) => [name, jsonSchema(schema, "output")])),
    },
    paths,
    "x-error-codes": Object.fromEntries(
      Object.entries(ERROR_CODES).map(([code, c]) => [
        code,
        {
          status: c.status,
          retryable: c.retryable,
          en: ERROR_MESSAGES.en[code as keyof typeof ERROR_CODES],
          "zh-CN": ERROR_MESSAGES["zh-CN"][code as keyof typeof ERROR_CODES],
        },
      ]),
    ),
  };
}
