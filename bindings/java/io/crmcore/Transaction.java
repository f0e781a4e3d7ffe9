package io.crmcore;

/**
 * A transaction begun by {@link Crm#transaction()}. Commit it explicitly;
 * closing it without a commit rolls it back, so an exception inside
 * try-with-resources leaves nothing behind:
 * <pre>{@code
 * try (Transaction tx = db.transaction()) {
 *     db.ingest(a);
 *     db.ingest(b);
 *     tx.commit();
 * }
 * }</pre>
 */
public final class Transaction implements AutoCloseable {
    private final Crm db;
    private boolean done;

    Transaction(Crm db) {
        this.db = db;
    }

    /** Commit. The transaction is over afterwards, even if the commit failed. */
    public void commit() {
        if (done)
            throw new ConflictException("transaction: already committed or rolled back");
        done = true;
        db.commit();
    }

    /** Roll back. The transaction is over afterwards. */
    public void rollback() {
        if (done)
            throw new ConflictException("transaction: already committed or rolled back");
        done = true;
        db.rollback();
    }

    /** Roll back unless committed or rolled back already (or the database was closed). */
    @Override
    public void close() {
        if (done)
            return;
        done = true;
        if (!db.isClosed())
            db.rollback();
    }
}
