import { ApiError, apiErrorFrom, handleUnauthorized } from './client';
import type { JobAccepted } from './types';

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * POST /api/upload as multipart (field `file`) through XMLHttpRequest, because fetch reports no
 * upload progress. Resolves with the queued job; rejects with ApiError (the server's refusal in
 * words: 413 too large, 400 not a CSV or missing columns) or an AbortError when `signal` aborts.
 */
export function uploadFile(file: File, onProgress: (progress: UploadProgress) => void, signal?: AbortSignal): Promise<JobAccepted> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const body = new FormData();
    body.append('file', file, file.name);
    xhr.open('POST', '/api/upload');
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (event) => onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    xhr.onload = () => {
      if (xhr.status === 202) {
        resolve(JSON.parse(xhr.responseText) as JobAccepted);
        return;
      }
      if (xhr.status === 401) handleUnauthorized('/api/upload');
      reject(apiErrorFrom(xhr.status, xhr.responseText));
    };
    // The server may refuse (413) and close before the body is sent; the browser then reports a network error.
    xhr.onerror = () => reject(new ApiError(0, 'The upload was interrupted: the server closed the connection or cannot be reached. If the file is very large, it may be over the server\'s upload limit.'));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}
