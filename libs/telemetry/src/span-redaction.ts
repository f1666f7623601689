import type { Context } from '@opentelemetry/api';
import { isSecretName, REDACTED, redactText } from '@linkflow/domain';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

type Attributes = ReadableSpan['attributes'];
type AttributeValue = Attributes[string];

function redactValue(value: AttributeValue): AttributeValue {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value))
    return value.map((item: unknown) =>
      typeof item === 'string' ? redactText(item) : item,
    ) as AttributeValue;
  return value;
}

/**
 * Span attributes with secrets taken out: the value of a secret-looking name
 * (`http.request.header.authorization`) is `[redacted]`; strings lose URL passwords, secret
 * query parameters and bearer tokens (the domain's `redactText`).
 */
export function redactAttributes(attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    out[key] = isSecretName(key) && value !== undefined ? REDACTED : redactValue(value);
  }
  return out;
}

/** The same span, read through a view whose attributes, events and status are redacted. */
function redactedView(span: ReadableSpan): ReadableSpan {
  const { message } = span.status;
  return Object.create(span, {
    attributes: { value: redactAttributes(span.attributes) },
    events: {
      value: span.events.map((event) =>
        event.attributes ? { ...event, attributes: redactAttributes(event.attributes) } : event,
      ),
    },
    status: {
      value: message === undefined ? span.status : { ...span.status, message: redactText(message) },
    },
  }) as ReadableSpan;
}

/**
 * Wraps a span processor so that what it exports never carries secrets, whatever an
 * instrumentation recorded: every ended span reaches it through a redacted view.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly inner: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.inner.onEnd(redactedView(span));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
