import { useId, useState } from 'preact/hooks';
import { errorMessage } from '../../api/client';
import type { Webhook } from '../../api/types';
import { revealSecret, rotateSecret } from '../../api/webhooks';
import { ConfirmDialog } from '../../components/confirm-dialog';
import { toast } from '../../components/toasts';

/** Copies text: the clipboard API where the page may use it, else a selected hidden textarea. */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'visually-hidden';
  document.body.append(area);
  area.select();
  // execCommand is deprecated but is the only way to copy on a page without a secure context.
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('The browser refused to copy. Reveal the secret and copy it yourself.');
}

export interface SecretPanelProps {
  webhook: Webhook;
  /** After a rotation (the list shows the masked new secret). */
  onRotated: () => void;
}

/** The signing secret: masked until revealed; copy; rotate after a confirmation. */
export function SecretPanel({ webhook, onRotated }: SecretPanelProps) {
  const headingId = useId();
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);

  const fullSecret = async () => secret ?? (await revealSecret(webhook.id)).secret;

  const toggleReveal = async () => {
    if (secret) {
      setSecret(null);
      return;
    }
    setBusy(true);
    try {
      setSecret(await fullSecret());
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    try {
      await copyText(await fullSecret());
      toast.success('Secret copied.');
    } catch (error) {
      toast.error(errorMessage(error));
    }
  };

  const rotate = async () => {
    const rotated = await rotateSecret(webhook.id);
    setSecret(rotated.secret);
    setConfirming(false);
    toast.success('Secret rotated. Requests are signed with the new secret from now on.');
    onRotated();
  };

  return (
    <section class="secret-panel" aria-labelledby={headingId}>
      <h3 id={headingId}>Signing secret</h3>
      <p class="muted">Receivers check each request’s <code>webhook-signature</code> with this secret (Standard Webhooks).</p>
      <div class="secret-row">
        <p class="secret-value">
          <span class="visually-hidden">{secret ? 'Secret: ' : 'Secret (masked): '}</span>
          <code>{secret ?? webhook.secret}</code>
        </p>
        <div class="actions">
          <button type="button" class="button" disabled={busy} onClick={toggleReveal}>
            {secret ? 'Hide' : 'Reveal'}
          </button>
          <button type="button" class="button" onClick={copy}>
            Copy
          </button>
          <button type="button" class="button" onClick={() => setConfirming(true)}>
            Rotate…
          </button>
        </div>
      </div>
      <ConfirmDialog
        open={confirming}
        title="Rotate the signing secret?"
        confirmLabel="Rotate secret"
        danger
        onConfirm={rotate}
        onCancel={() => setConfirming(false)}
      >
        <p>A new secret replaces the current one at once. Receivers that still check the old secret will reject every request until they are given the new one.</p>
      </ConfirmDialog>
    </section>
  );
}
