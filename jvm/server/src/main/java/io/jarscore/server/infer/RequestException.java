package io.jarscore.server.infer;

/**
 * A request the server refuses or cannot answer, with what both protocols make of it: an HTTP
 * status and a gRPC status code. The message names the model, field and value at fault.
 */
public final class RequestException extends RuntimeException {

    /** What went wrong, as an HTTP status and the gRPC status code that means the same. */
    public enum Kind {
        BAD_REQUEST(400, io.grpc.Status.Code.INVALID_ARGUMENT),
        UNAUTHORIZED(401, io.grpc.Status.Code.UNAUTHENTICATED),
        NOT_FOUND(404, io.grpc.Status.Code.NOT_FOUND),
        METHOD_NOT_ALLOWED(405, io.grpc.Status.Code.UNIMPLEMENTED),
        TOO_LARGE(413, io.grpc.Status.Code.INVALID_ARGUMENT),
        BUSY(429, io.grpc.Status.Code.RESOURCE_EXHAUSTED),
        INTERNAL(500, io.grpc.Status.Code.INTERNAL),
        UNAVAILABLE(503, io.grpc.Status.Code.UNAVAILABLE),
        TIMEOUT(504, io.grpc.Status.Code.DEADLINE_EXCEEDED);

        public final int http;
        public final io.grpc.Status.Code grpc;

        Kind(int http, io.grpc.Status.Code grpc) {
            this.http = http;
            this.grpc = grpc;
        }
    }

    private final Kind kind;

    public RequestException(Kind kind, String message) {
        super(message, null, false, false); // an answer to the client, not a fault here: no stack trace
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static RequestException badRequest(String message) {
        return new RequestException(Kind.BAD_REQUEST, message);
    }

    public static RequestException notFound(String message) {
        return new RequestException(Kind.NOT_FOUND, message);
    }
}
