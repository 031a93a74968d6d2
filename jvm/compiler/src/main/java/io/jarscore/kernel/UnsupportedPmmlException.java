package io.jarscore.kernel;

/** The PMML uses something the kernel compiler does not handle; the model is scored by JPMML instead. */
public final class UnsupportedPmmlException extends Exception {

    public UnsupportedPmmlException(String message) {
        super(message);
    }
}
