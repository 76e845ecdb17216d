/**
 * The SDKs' local-file upload flow (protocol.md §9): `GET /api/v1/uploads?action=getPolicy` hands
 * out a policy whose `upload_host` is this server's `/oss-upload`, and `POST /oss-upload` takes
 * the OSS-style multipart form the SDK sends there (no Authorization: the signed policy is the
 * authorization). The multipart parser lives in its own plugin scope, so it wins over the app's
 * catch-all content-type parser for these routes only.
 */
import multipart, { type MultipartFile } from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import { errors, invalidParameter } from "../core/index.ts";
import { type UploadFields, type UploadStore, uploadErrors } from "../features/media/index.ts";
import type { Gateway } from "../gateway/index.ts";
import { fieldText, multipartFailure } from "./multipart.ts";
import { authenticateCaller, baseUrlOf, queryOf } from "./requestValues.ts";

export interface UploadRouteDeps {
  uploads: UploadStore;
  gateway: Gateway;
  /**
   * Build `upload_host` from `X-Forwarded-Proto` / `X-Forwarded-Host` (set only behind a proxy
   * that sets them; a client could otherwise choose the host its own policy names). Default off.
   */
  trustForwardedHeaders?: boolean;
}

export const UPLOADS_PATH = "/api/v1/uploads";
export const OSS_UPLOAD_PATH = "/oss-upload";

/** The form fields the SDK sends (and a few spares); anything beyond is refused. */
const MAX_FIELDS = 20;
const MAX_FIELD_BYTES = 16 * 1024;

export function registerUploadRoutes(app: FastifyInstance, deps: UploadRouteDeps): void {
  const { uploads, gateway } = deps;
  const trustForwarded = deps.trustForwardedHeaders ?? false;

  app.get(UPLOADS_PATH, async (request, reply) => {
    await authenticateCaller(gateway, request);
    const action = queryOf(request).action;
    if (action !== "getPolicy") throw invalidParameter(`Unsupported action "${action ?? ""}": only action=getPolicy is supported.`);
    const model = queryOf(request).model;
    if (!model) throw errors.emptyModel();
    const data = uploads.policy(model, `${baseUrlOf(request, trustForwarded)}${OSS_UPLOAD_PATH}`);
    return reply.type("application/json").send({ data, request_id: request.id });
  });

  app.register(async (scope) => {
    await scope.register(multipart, {
      throwFileSizeLimit: false,
      limits: { fileSize: uploads.maxBytes, files: 1, fields: MAX_FIELDS, parts: MAX_FIELDS + 1, fieldSize: MAX_FIELD_BYTES },
    });

    scope.post(OSS_UPLOAD_PATH, async (request, reply) => {
      if (!request.isMultipart()) throw invalidParameter("The request body must be multipart/form-data.");
      const fields: UploadFields = {};
      let file: { bytes: Buffer; filename: string; contentType: string; tooLarge: boolean } | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === "file") {
            const upload = part as MultipartFile;
            if (upload.fieldname !== "file" || file !== undefined) {
              upload.file.resume();
              continue;
            }
            // The signed fields come first: refuse a bad signature before reading the file.
            uploads.check(fields);
            const bytes = await upload.toBuffer();
            file = { bytes, filename: upload.filename, contentType: upload.mimetype, tooLarge: upload.file.truncated };
          } else if (part.fieldname !== "file" && !(part.fieldname in fields)) {
            // OSS takes the first value of a repeated field.
            fields[part.fieldname] = fieldText(part.fieldname, part.value);
          }
        }
      } catch (error) {
        // The multipart parser's refusals (no boundary, truncated body, too many parts) are the client's mistakes.
        throw multipartFailure(error);
      }
      if (file === undefined) throw uploadErrors.missing("file");
      if (file.tooLarge) throw uploadErrors.tooLarge(uploads.maxBytes);
      await uploads.accept(fields, file);
      const status = fields.success_action_status;
      const code = status === "201" || status === "204" ? Number(status) : 200;
      return reply.code(code).send();
    });
  });
}
