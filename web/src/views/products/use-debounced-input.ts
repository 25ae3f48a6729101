import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A text box whose value is committed (to the URL) `delayMs` after the last keystroke, so typing a
 * word makes one request, not one per letter. When the committed value changes from outside
 * (Back, Forward, a "clear filters" button) the box follows it.
 */
export function useDebouncedInput(committedValue: string, commit: (text: string) => void, delayMs = 250): [string, (text: string) => void] {
  const [text, setText] = useState(committedValue);
  // What this box last committed (as typed, before the URL trimmed it).
  const lastCommitted = useRef(committedValue);

  useEffect(() => {
    if (committedValue === lastCommitted.current.trim()) return;
    lastCommitted.current = committedValue;
    setText(committedValue);
  }, [committedValue]);

  useEffect(() => {
    if (text.trim() === lastCommitted.current.trim()) return;
    const timer = setTimeout(() => {
      lastCommitted.current = text;
      commit(text);
    }, delayMs);
    return () => clearTimeout(timer);
  }, [text]);

  return [text, setText];
}
