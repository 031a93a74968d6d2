package io.jarscore.kernel;

import java.util.concurrent.ScheduledThreadPoolExecutor;

/** The runtime's background threads: daemons, so that none keeps a process alive. */
public final class Daemons {

    private Daemons() {
    }

    /**
     * One daemon thread named {@code name} running tasks in turn, now or after a delay. A cancelled
     * task leaves the queue at once, and with it whatever it holds.
     */
    public static ScheduledThreadPoolExecutor scheduler(String name) {
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, name);
            thread.setDaemon(true);
            return thread;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        return scheduler;
    }
}
