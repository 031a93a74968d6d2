package io.jarscore.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.net.URLConnection;

/**
 * The class loader of one transpiled model JAR. Its resource streams read a JarFile of their own:
 * {@link URLClassLoader#getResourceAsStream} reads through the JVM-wide cache of JarFiles, keyed by
 * URL, and closing a loader closes the cached JarFile, so retiring an old instance of a JAR would break
 * a newer instance of the same JAR that is still reading its resources (the generated model classes
 * read them in their static initializers while they load).
 */
final class ModelClassLoader extends URLClassLoader {

    static {
        ClassLoader.registerAsParallelCapable();
    }

    ModelClassLoader(URL jar, ClassLoader parent) {
        super(new URL[]{jar}, parent);
    }

    @Override
    public InputStream getResourceAsStream(String name) {
        URL url = getResource(name);
        if (url == null) {
            return null;
        }
        try {
            URLConnection connection = url.openConnection();
            connection.setUseCaches(false); // the stream closes its own JarFile when it is closed
            return connection.getInputStream();
        } catch (IOException e) {
            return null;
        }
    }
}
