// The queue's defaults, apart from the Redis client code so that registering the command loads nothing.

export const DEFAULT_QUEUE_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE_NAME = 'cap-scan';
