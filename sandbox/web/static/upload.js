// MOC file upload: small files go directly through the API (multipart), larger ones go
// presign -> PUT to S3 -> complete, so they never cross API Gateway.
//
// The threshold comes from the runtime config (`directUploadMaxBytes`). The plan says 10 MB,
// but a direct upload through API Gateway reaches the Lambda base64-encoded inside a 6 MB
// event, so the real ceiling through serverless is about 4.5 MB (multipart envelope included);
// the default of 4 MiB stays under it on both backends.

import { DEFAULT_DIRECT_UPLOAD_MAX_BYTES } from "./runtime-config.js";

export const MAX_FILE_BYTES = 100 * 1024 * 1024; // the presign endpoint's limit (moc-api.md)

export function formatBytes(n) {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${n} bytes`;
}

export function directLimit(config) {
  return config.directUploadMaxBytes === undefined
    ? DEFAULT_DIRECT_UPLOAD_MAX_BYTES
    : config.directUploadMaxBytes;
}

async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// -> {method: "direct" | "presigned", file: <file record>}
export async function uploadMocFile(api, config, mocId, file, { kind = "instructions", onProgress = () => {} } = {}) {
  if (file.size > MAX_FILE_BYTES) {
    throw new Error(`${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(MAX_FILE_BYTES)}.`);
  }
  if (file.size <= directLimit(config)) {
    onProgress("Uploading…");
    const form = new FormData();
    form.append("kind", kind);
    form.append("file", file, file.name);
    const record = await api.request("POST", `/api/mocs/${mocId}/files`, { form, auth: true });
    return { method: "direct", file: record };
  }
  const contentType = file.type || "application/octet-stream";
  onProgress("Preparing upload…");
  const [presigned, sha256] = await Promise.all([
    api.request("POST", `/api/mocs/${mocId}/files/presign`, {
      json: { filename: file.name, contentType, size: file.size },
      auth: true,
    }),
    sha256Hex(file),
  ]);
  onProgress("Uploading to storage…");
  let put;
  try {
    put = await fetch(presigned.uploadUrl, {
      method: "PUT",
      headers: { "Content-Type": contentType },
      body: file,
    });
  } catch (error) {
    throw new Error(`The upload to storage failed: ${error.message || error}`);
  }
  if (!put.ok) throw new Error(`The upload to storage failed (HTTP ${put.status}).`);
  onProgress("Finishing…");
  const record = await api.request("POST", `/api/mocs/${mocId}/files/complete`, {
    json: { key: presigned.key, filename: file.name, kind, sha256 },
    auth: true,
  });
  return { method: "presigned", file: record };
}
