package io.crmcore;

/** The record does not exist, or is outside the handle's dealer scope (CRM_ENOTFOUND). */
public class NotFoundException extends CrmException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(String message) {
        super(NOT_FOUND, message);
    }
}
