package io.jarscore.server.http;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;

import io.jarscore.runtime.Model;
import io.jarscore.server.infer.RequestException;

/**
 * Where a request goes: the endpoint (for the metrics), the model it names, whether it is answered
 * on the network thread (cheap reads) or queued for a scoring thread, whether it needs no token
 * (health checks), and what answers it.
 */
record Route(String endpoint, String model, boolean inline, boolean open, Function<Exchange, HttpAnswer> action) {

    /** What an action reads of the request. */
    record Exchange(byte[] body, String headerLength, String routingKey) {
    }

    static Route of(HttpMethod method, String uri, OipRest oip, TfsRest tfs,
                    java.util.function.Supplier<String> metrics) {
        List<String> path = segments(uri);
        int n = path.size();
        if (n >= 1 && path.get(0).equals("v2")) {
            if (n == 1) {
                return get(method, "metadata", null, false, e -> oip.serverMetadata());
            }
            if (n == 3 && path.get(1).equals("health") && path.get(2).equals("live")) {
                return get(method, "health", null, true, e -> oip.live());
            }
            if (n == 3 && path.get(1).equals("health") && path.get(2).equals("ready")) {
                return get(method, "health", null, true, e -> oip.ready());
            }
            if (n == 3 && path.get(1).equals("repository") && path.get(2).equals("index")) {
                return post(method, "repository", null, e -> oip.index(e.body()));
            }
            if (n == 5 && path.get(1).equals("repository") && path.get(2).equals("models")) {
                String model = path.get(3);
                if (path.get(4).equals("load")) {
                    return post(method, "repository", model, e -> oip.load(model));
                }
                if (path.get(4).equals("unload")) {
                    return post(method, "repository", model, e -> oip.unload(model));
                }
            }
            if (n >= 3 && path.get(1).equals("models")) {
                String model = path.get(2);
                String version = null;
                int rest = 3;
                if (n >= 5 && path.get(3).equals("versions")) {
                    version = path.get(4);
                    rest = 5;
                }
                String versionText = version;
                if (n == rest) {
                    return get(method, "metadata", model, false, e -> oip.modelMetadata(model, versionText));
                }
                if (n == rest + 1 && path.get(rest).equals("ready")) {
                    return get(method, "health", model, false, e -> oip.modelReady(model, versionText));
                }
                if (n == rest + 1 && path.get(rest).equals("infer")) {
                    return post(method, "infer", model, e -> {
                        OipRest.Parsed parsed = oip.parse(model, versionText, e.body(), e.headerLength(), e.routingKey());
                        return oip.answer(parsed, oip.infer(parsed));
                    });
                }
            }
        }
        if (n >= 3 && path.get(0).equals("v1") && path.get(1).equals("models")) {
            return tfs(method, path, tfs);
        }
        if (n == 1 && path.get(0).equals("metrics")) {
            return new Route("metrics", null, true, false, e -> {
                requireMethod(method, HttpMethod.GET);
                return new HttpAnswer(io.netty.handler.codec.http.HttpResponseStatus.OK,
                    "text/plain; version=0.0.4; charset=utf-8", metrics.get().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    new java.util.LinkedHashMap<>(), null, 0);
            });
        }
        throw RequestException.notFound("no endpoint at " + Model.shorten(new QueryStringDecoder(uri).rawPath())
            + "; see docs/server.md for the Open Inference Protocol (/v2/...) and TensorFlow Serving (/v1/...) endpoints");
    }

    /** /v1/models/M[/versions/V | /labels/L][/metadata | :predict]. */
    private static Route tfs(HttpMethod method, List<String> path, TfsRest tfs) {
        List<String> parts = new ArrayList<>(path);
        String verb = null;
        String last = parts.get(parts.size() - 1);
        int colon = last.lastIndexOf(':');
        if (colon > 0) {
            verb = last.substring(colon + 1);
            parts.set(parts.size() - 1, last.substring(0, colon));
        }
        boolean metadata = verb == null && parts.size() > 3 && parts.get(parts.size() - 1).equals("metadata");
        if (metadata) {
            parts.remove(parts.size() - 1);
        }
        String model = parts.get(2);
        String version = null;
        String label = null;
        if (parts.size() == 5 && parts.get(3).equals("versions")) {
            version = parts.get(4);
        } else if (parts.size() == 5 && parts.get(3).equals("labels")) {
            label = parts.get(4);
        } else if (parts.size() != 3) {
            throw RequestException.notFound("no endpoint at /" + Model.shorten(String.join("/", path))
                + "; TensorFlow Serving's are /v1/models/M[/versions/V|/labels/L][/metadata|:predict]");
        }
        String versionText = version;
        String labelText = label;
        if (verb != null) {
            if (!verb.equals("predict")) {
                throw RequestException.notFound("':" + Model.shorten(verb) + "' is not served; this server answers"
                    + " TensorFlow Serving's ':predict'");
            }
            return post(method, "predict", model, e -> {
                int v = tfs.version(model, versionText, labelText);
                TfsRest.Parsed parsed = tfs.parse(model, v, e.body(), e.routingKey());
                return tfs.answer(parsed, tfs.infer(parsed));
            });
        }
        if (metadata) {
            return get(method, "metadata", model, false, e -> tfs.metadata(model, tfs.version(model, versionText, labelText)));
        }
        return get(method, "status", model, false, e -> tfs.status(model, tfs.version(model, versionText, labelText)));
    }

    private static Route get(HttpMethod method, String endpoint, String model, boolean open,
                             Function<Exchange, HttpAnswer> action) {
        requireMethod(method, HttpMethod.GET);
        return new Route(endpoint, model, true, open, action);
    }

    private static Route post(HttpMethod method, String endpoint, String model, Function<Exchange, HttpAnswer> action) {
        requireMethod(method, HttpMethod.POST);
        return new Route(endpoint, model, false, false, action);
    }

    private static void requireMethod(HttpMethod method, HttpMethod allowed) {
        if (!method.equals(allowed) && !(allowed.equals(HttpMethod.GET) && method.equals(HttpMethod.HEAD))) {
            throw new RequestException(RequestException.Kind.METHOD_NOT_ALLOWED, "this endpoint answers " + allowed
                + ", not " + Model.shorten(method.name()));
        }
    }

    /** The path's segments, each percent-decoded (so an encoded '/' stays inside its segment). */
    private static List<String> segments(String uri) {
        String raw = new QueryStringDecoder(uri).rawPath();
        List<String> segments = new ArrayList<>();
        for (String segment : raw.split("/")) {
            if (!segment.isEmpty()) {
                try {
                    segments.add(QueryStringDecoder.decodeComponent(segment));
                } catch (IllegalArgumentException e) {
                    throw RequestException.badRequest("the path segment '" + Model.shorten(segment)
                        + "' is not valid percent-encoding: " + e.getMessage());
                }
            }
        }
        return segments;
    }
}
