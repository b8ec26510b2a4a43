/**
 * "the Pipe list list": a list's name that already ends in "list" (Pipe list, Mailing List)
 * takes no second one in the texts malist writes about it.
 */

/** True when `name` already ends in the word "list". */
export function endsInList(name: string): boolean {
  return /(^|[^\p{L}\p{N}])list$/iu.test(name.trim());
}

/** `NAME list`, or NAME alone when it already ends in "list". */
export function listPhrase(name: string): string {
  return endsInList(name) ? name : `${name} list`;
}
