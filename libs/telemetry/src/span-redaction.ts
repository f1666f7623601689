import type { Context } from '@opentelemetry/api';
import { isSecretName, REDACTED, redactText } from '@linkflow/domain';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

type Attributes = ReadableSpan['attributes'];
type AttributeValue = Attributes[string];

/** Secret strings known at run time (credential values held by running nodes). */
export interface SecretValueSource {
  values(): readonly string[];
}

function redactValue(value: AttributeValue, values: readonly string[]): AttributeValue {
  if (typeof value === 'string') return redactText(value, values);
  if (Array.isArray(value))
    return value.map((item: unknown) =>
      typeof item === 'string' ? redactText(item, values) : item,
    ) as AttributeValue;
  return value;
}

/**
 * Span attributes with secrets taken out: the value of a secret-looking name
 * (`http.request.header.authorization`) is `[redacted]`; strings lose URL passwords, secret
 * query parameters and bearer tokens (the domain's `redactText`), and every one of `values`.
 */
export function redactAttributes(
  attributes: Attributes,
  values: readonly string[] = [],
): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    out[key] = isSecretName(key) && value !== undefined ? REDACTED : redactValue(value, values);
  }
  return out;
}

/** The same span, read through a view whose attributes, events and status are redacted. */
function redactedView(span: ReadableSpan, values: readonly string[]): ReadableSpan {
  const { message } = span.status;
  return Object.create(span, {
    attributes: { value: redactAttributes(span.attributes, values) },
    events: {
      value: span.events.map((event) =>
        event.attributes
          ? { ...event, attributes: redactAttributes(event.attributes, values) }
          : event,
      ),
    },
    status: {
      value:
        message === undefined
          ? span.status
          : { ...span.status, message: redactText(message, values) },
    },
  }) as ReadableSpan;
}

/**
 * Wraps a span processor so that what it exports never carries secrets, whatever an
 * instrumentation recorded: every ended span reaches it through a redacted view, computed
 * when the span ends (while the values it may carry are still held in `values`).
 */
export class RedactingSpanProcessor implements SpanProcessor {
  constructor(
    private readonly inner: SpanProcessor,
    private readonly values: SecretValueSource = { values: () => [] },
  ) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.inner.onEnd(redactedView(span, this.values.values()));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
