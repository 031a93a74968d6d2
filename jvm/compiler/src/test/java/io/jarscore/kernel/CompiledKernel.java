package io.jarscore.kernel;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.Map;

/** A class loader over a kernel compiled in memory: its classes and its resources (forest tables). */
public final class CompiledKernel extends ClassLoader {

    private final Map<String, byte[]> classes;
    private final Map<String, byte[]> resources;

    public CompiledKernel(KernelCompiler.Result result, Map<String, byte[]> classes) {
        super(CompiledKernel.class.getClassLoader());
        this.classes = classes;
        this.resources = result.resources();
    }

    /** A new instance of the kernel's main class. */
    public Kernel load(String className) throws ReflectiveOperationException {
        return (Kernel) loadClass(className).getDeclaredConstructor().newInstance();
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        byte[] bytes = classes.get(name.replace('.', '/') + ".class");
        if (bytes == null) {
            throw new ClassNotFoundException(name);
        }
        return defineClass(name, bytes, 0, bytes.length);
    }

    @Override
    public InputStream getResourceAsStream(String name) {
        byte[] bytes = resources.get(name);
        return bytes == null ? super.getResourceAsStream(name) : new ByteArrayInputStream(bytes);
    }
}
