export interface ProgressBarProps {
  /** 0–100; null shows a moving bar for "working, amount unknown". */
  value: number | null;
  label: string;
  /** Read out instead of the number, e.g. "12 MB of 40 MB". */
  valueText?: string;
  tone?: 'normal' | 'success' | 'danger' | 'muted';
}

export function ProgressBar({ value, label, valueText, tone = 'normal' }: ProgressBarProps) {
  const clamped = value === null ? null : Math.min(100, Math.max(0, value));
  return (
    <div
      class={`progress progress-${tone}${clamped === null ? ' progress-indeterminate' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={clamped === null ? undefined : Math.round(clamped * 10) / 10}
      aria-valuetext={valueText}
    >
      <div class="progress-fill" style={clamped === null ? undefined : { width: `${clamped}%` }} />
    </div>
  );
}
