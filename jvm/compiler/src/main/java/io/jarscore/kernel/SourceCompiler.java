package io.jarscore.kernel;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileManager;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/** Generated Java sources to class files in memory, through the JDK's own compiler (javax.tools). */
public final class SourceCompiler {

    private SourceCompiler() {
    }

    /** Class name to source in; class file path (a/b/C.class) to bytes out. */
    public static Map<String, byte[]> compile(Map<String, String> sources) throws UnsupportedPmmlException {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        if (compiler == null) {
            throw new UnsupportedPmmlException("no Java compiler in this runtime (a JRE, not a JDK): "
                + "run the transpile step on a JDK 17+ to build the fast kernel");
        }
        List<JavaFileObject> units = new ArrayList<>();
        for (Map.Entry<String, String> e : sources.entrySet()) {
            String path = e.getKey().replace('.', '/') + ".java";
            String code = e.getValue();
            units.add(new SimpleJavaFileObject(URI.create("string:///" + path), JavaFileObject.Kind.SOURCE) {
                @Override
                public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                    return code;
                }
            });
        }
        Map<String, ByteArrayOutputStream> classes = new LinkedHashMap<>();
        StandardJavaFileManager standard = compiler.getStandardFileManager(null, null, null);
        JavaFileManager manager = new ForwardingJavaFileManager<>(standard) {
            @Override
            public JavaFileObject getJavaFileForOutput(Location location, String className, JavaFileObject.Kind kind,
                                                       FileObject sibling) {
                String path = className.replace('.', '/') + ".class";
                return new SimpleJavaFileObject(URI.create("mem:///" + path), kind) {
                    @Override
                    public OutputStream openOutputStream() {
                        ByteArrayOutputStream out = new ByteArrayOutputStream();
                        classes.put(path, out);
                        return out;
                    }
                };
            }
        };
        StringWriter messages = new StringWriter();
        List<String> options = List.of("--release", "17", "-g:none", "-proc:none", "-nowarn",
            "-classpath", System.getProperty("java.class.path"));
        boolean ok = compiler.getTask(messages, manager, null, options, null, units).call();
        if (!ok) {
            String text = messages.toString();
            throw new UnsupportedPmmlException("the generated kernel did not compile: "
                + (text.length() > 2000 ? text.substring(0, 2000) + "..." : text));
        }
        Map<String, byte[]> out = new LinkedHashMap<>();
        classes.forEach((k, v) -> out.put(k, v.toByteArray()));
        return out;
    }
}
