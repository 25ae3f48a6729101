import { Type, type Static } from 'typebox';

export const SessionStatus = Type.Object(
  {
    auth_required: Type.Boolean({ description: 'An API token is configured: closed routes need it or a session.' }),
    authenticated: Type.Boolean({
      description: 'This request may use the closed routes (a valid session cookie or Bearer token, or no token configured).',
    }),
  },
  { description: 'Whether signing in is needed, and whether this client is signed in.' },
);

export const SignIn = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 4096, description: 'The API token (API_TOKEN).' }) },
  { additionalProperties: false },
);
export type SignIn = Static<typeof SignIn>;
