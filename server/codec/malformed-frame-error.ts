/** A frame that is not valid protocol: the sender's socket is closed with 4401. */
export class MalformedFrameError extends Error {}
