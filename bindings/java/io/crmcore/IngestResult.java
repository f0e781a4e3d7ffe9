package io.crmcore;

/** What {@link Crm#ingest(String)} did with a document. */
public final class IngestResult {
    /** The outcome of an ingest. */
    public enum Outcome {
        /** a new lead was stored */
        CREATED("created"),
        /** an existing lead has the same phone (or matches); the document was recorded on it */
        DUPLICATE("duplicate"),
        /** stored as new and flagged as a possible duplicate of getDuplicateOf() */
        REVIEW("review");

        private final String wireName;

        Outcome(String wireName) {
            this.wireName = wireName;
        }

        /** "created", "duplicate" or "review". */
        public String wireName() {
            return wireName;
        }

        @Override
        public String toString() {
            return wireName;
        }
    }

    private final Outcome outcome;
    private final String id, duplicateOf, reason, grade, quality;
    private final int score;

    /* Built by the JNI layer (crm.i, crmb_java_ingest_result). */
    IngestResult(int outcome, String id, String duplicateOf, String reason, int score, String grade,
                 String quality) {
        this.outcome = Outcome.values()[outcome];
        this.id = id;
        this.duplicateOf = duplicateOf;
        this.reason = reason;
        this.score = score;
        this.grade = grade;
        this.quality = quality;
    }

    public Outcome getOutcome() { return outcome; }
    /** True when the document duplicated an existing lead. */
    public boolean isDuplicate() { return outcome == Outcome.DUPLICATE; }
    /** The new lead, or the existing lead it duplicates. */
    public String getId() { return id; }
    /** The existing lead when the outcome is DUPLICATE or REVIEW, else null. */
    public String getDuplicateOf() { return duplicateOf; }
    /** Why, in words: "new lead", "duplicate of ... (same phone)". */
    public String getReason() { return reason; }
    /** True when the new lead was scored on ingest ({@link Crm#enableScoring(String)}). */
    public boolean isScored() { return score >= 0; }
    /** The score (0..100) given on ingest, or -1 when not scored. */
    public int getScore() { return score; }
    /** The grade ("A".."D") given on ingest, or null when not scored. */
    public String getGrade() { return grade; }
    /**
     * The document's quality from the cleaners: "ok", "suspect" or "junk"
     * (also for a duplicate, whose document is recorded on the existing lead).
     */
    public String getQuality() { return quality; }

    @Override
    public String toString() {
        return "IngestResult{" + outcome + ", id=" + id
            + (duplicateOf != null ? ", duplicateOf=" + duplicateOf : "")
            + (score >= 0 ? ", score=" + score + ", grade=" + grade : "")
            + ", quality=" + quality
            + ", reason=" + reason + "}";
    }
}
