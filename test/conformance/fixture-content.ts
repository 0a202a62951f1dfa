// Constant payloads the conformance scenarios look for, shared by the MCP fixture and the HTTP API
// fixture so both answer alike.

/** A 1×1 PNG. */
export const FIXTURE_IMAGE_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='

/** A minimal WAV header with two bytes of samples. */
export const FIXTURE_AUDIO_BASE64 = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA='

export const SIMPLE_TEXT = 'This is a simple text response for testing.'
