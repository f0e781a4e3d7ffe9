package io.crmcore;

/** An audit event: a copy, independent of the database (nothing to close). */
public final class Event {
    private final String id, kind, entityType, entityId, dealerId, actor, data;
    private final long at;

    /* Built by the JNI layer (crm.i, crmb_java_event); the order of text is fixed there. */
    Event(String[] text, long at) {
        this.id = text[0];
        this.kind = text[1];
        this.entityType = text[2];
        this.entityId = text[3];
        this.dealerId = text[4];
        this.actor = text[5];
        this.data = text[6];
        this.at = at;
    }

    /** UUID (time-ordered). */
    public String getId() { return id; }
    /** When, Unix ms UTC. */
    public long getAt() { return at; }
    /** "lead.created", "lead.duplicate", ... */
    public String getKind() { return kind; }
    /** "lead", ... */
    public String getEntityType() { return entityType; }
    /** The record the event is about. */
    public String getEntityId() { return entityId; }
    /** The record's dealer, or null. */
    public String getDealerId() { return dealerId; }
    /** Who acted ({@link Crm#setActor}). */
    public String getActor() { return actor; }
    /** A JSON object with the details, or null. */
    public String getData() { return data; }

    @Override
    public String toString() {
        return "Event{kind=" + kind + ", entityId=" + entityId + ", actor=" + actor + ", at=" + at + "}";
    }
}
