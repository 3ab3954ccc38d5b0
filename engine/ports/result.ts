/** What a port operation returns: a value now, or later (a Promise live, a sim future in sim). */
export type PortResult<T> = T | PromiseLike<T>;
