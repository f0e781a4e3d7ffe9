package io.crmcore;

/**
 * A lead as stored: a copy, independent of the database and of any
 * iterator (nothing to close). Strings are null when absent; times are Unix
 * milliseconds, UTC.
 */
public final class Lead {
    private final String id, channel, campaign, name, phone, email,
        wechatOpenid, wechatUnionid, province, city, dealerId, ownerId,
        model, grade, customerId, attributes, mergedInto, quality;
    private final PurchaseTimeline purchaseTimeline;
    private final Boolean testDrive;
    private final LeadStatus status;
    private final int score;
    private final long createdAt, updatedAt;

    /* Built by the JNI layer (crm.i, crmb_java_lead); the order of text is fixed there. */
    Lead(String[] text, int purchaseTimeline, int testDrive, int status, int score,
         long createdAt, long updatedAt) {
        this.id = text[0];
        this.channel = text[1];
        this.campaign = text[2];
        this.name = text[3];
        this.phone = text[4];
        this.email = text[5];
        this.wechatOpenid = text[6];
        this.wechatUnionid = text[7];
        this.province = text[8];
        this.city = text[9];
        this.dealerId = text[10];
        this.ownerId = text[11];
        this.model = text[12];
        this.grade = text[13];
        this.customerId = text[14];
        this.attributes = text[15];
        this.mergedInto = text[16];
        this.quality = text[17];
        this.purchaseTimeline = PurchaseTimeline.fromCode(purchaseTimeline);
        this.testDrive = testDrive < 0 ? null : Boolean.valueOf(testDrive != 0);
        this.status = LeadStatus.fromCode(status);
        this.score = score;
        this.createdAt = createdAt;
        this.updatedAt = updatedAt;
    }

    /** UUID (time-ordered). */
    public String getId() { return id; }
    /** website, wechat_mp, douyin, autohome, dongchedi, auto_show, walk_in, dcc, app, third_party, ... */
    public String getChannel() { return channel; }
    public String getCampaign() { return campaign; }
    public String getName() { return name; }
    /** Digits only. */
    public String getPhone() { return phone; }
    public String getEmail() { return email; }
    public String getWechatOpenid() { return wechatOpenid; }
    public String getWechatUnionid() { return wechatUnionid; }
    public String getProvince() { return province; }
    public String getCity() { return city; }
    public String getDealerId() { return dealerId; }
    /** The sales consultant who owns the lead. */
    public String getOwnerId() { return ownerId; }
    /** Vehicle model of interest. */
    public String getModel() { return model; }
    public PurchaseTimeline getPurchaseTimeline() { return purchaseTimeline; }
    /** Wants a test drive: true, false, or null when unknown. */
    public Boolean getTestDrive() { return testDrive; }
    public LeadStatus getStatus() { return status; }
    /** 0..100, or -1 when not scored. */
    public int getScore() { return score; }
    /** "A".."D", or null when not graded. */
    public String getGrade() { return grade; }
    public String getCustomerId() { return customerId; }
    /** The free-form attributes as a JSON object text, or null. */
    public String getAttributes() { return attributes; }
    /** The lead this one was merged into (Crm.mergeJson), or null; lists skip a merged-away lead. */
    public String getMergedInto() { return mergedInto; }
    /**
     * How far the contact data can be believed, set on ingest: "ok",
     * "suspect" or "junk" ({@link LeadFilter#qualities(String...)} filters on it).
     */
    public String getQuality() { return quality; }
    /** Unix ms, UTC. */
    public long getCreatedAt() { return createdAt; }
    /** Unix ms, UTC. */
    public long getUpdatedAt() { return updatedAt; }

    @Override
    public String toString() {
        return "Lead{id=" + id + ", channel=" + channel + ", status=" + status
            + ", quality=" + quality
            + ", dealerId=" + dealerId + ", createdAt=" + createdAt + "}";
    }
}
