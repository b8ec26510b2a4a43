/** What every API route declares: its JSON answer, and the errors any route may give. */
import { ErrorBody } from './schemas.ts';

export function json<T>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description };
}

export const ERRORS = {
  400: json(ErrorBody, 'The request does not fit the schema, or the change would not load'),
  401: json(ErrorBody, 'No valid bearer token'),
  403: json(ErrorBody, 'The token may only read this list'),
  404: json(ErrorBody, "No such list (or not in the token's scopes), member, post or entry"),
};

export const body = <T>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
