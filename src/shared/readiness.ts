/** Something /readyz must hear from: the database; Redis in scaled mode. */
export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency answers; rejects with the reason otherwise. */
  check(): Promise<void>;
}
