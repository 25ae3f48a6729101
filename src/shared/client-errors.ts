import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

const PROBLEMS: Record<string, [status: number, detail: string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request was not received in time.'],
  HPE_HEADER_OVERFLOW: [431, 'The request headers are too large.'],
  HPE_INVALID_METHOD: [400, 'Unknown HTTP method.'],
  HPE_INVALID_CONTENT_LENGTH: [400, 'Invalid Content-Length header.'],
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, 'Content-Length together with Transfer-Encoding is not allowed.'],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'Invalid Transfer-Encoding header.'],
};

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (bad Content-Length, unknown
 * method, oversized headers, timeouts) get the same `{"detail": …}` answer as every other
 * error, then the connection is closed, as Node does. Passed as Fastify's `clientErrorHandler`.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] = PROBLEMS[error.code ?? ''] ?? [400, 'Malformed HTTP request.'];
  const body = JSON.stringify({ detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Errors Fastify raises before routing (a URL with broken percent-encoding): 400 in our format. Fastify's `frameworkErrors`. */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  // Answered before the route's hooks, so without helmet's headers: at least forbid sniffing.
  void reply.code(status).header('x-content-type-options', 'nosniff').send({ detail: error.message });
}
