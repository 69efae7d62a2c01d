Feature: Callbacks
  When a transaction ends (accepted, denied or expired), the server POSTs
  {"callback_uri", "transaction_id"} to the transaction's callback_uri, and retries a failed
  delivery callback_retries times with backoff. In these scenarios the portal's callback receiver
  answers as the scenario says and counts every delivery attempt where it arrives.

  The contract fixes how many attempts come and that retries back off, not which clock the backoff
  reads: a server may wait real time or its own clock. So "the callback deliveries run their
  course" moves the server's clock on (where the target offers the test-control clock) and listens
  at the receiver for the next attempt, round after round, until none comes within a bound: either
  reading then shows every attempt it makes.

  Background:
    Given "Alice" has enrolled the device "phone"

  Scenario Outline: When a transaction ends, the server posts its id to the callback_uri as JSON: <end>
    Given the portal's callback receiver answers every callback with 204
    And the portal has started a QR-code OTP with the callback path "/callback?order=42"
    When <end>
    Then the portal's receiver gets a POST of Content-Type application/json with the body {"callback_uri", "transaction_id"} for the transaction

    @CB-001 @must
    Examples:
      | end                             |
      | "phone" accepts the portal's OTP |
      | "phone" denies the portal's OTP  |
      | the portal's OTP expires         |

  @CB-002 @must
  Scenario: No callback while a transaction is pending or after a refused answer, and one series of attempts when it ends
    Given the portal's callback receiver answers 500, then 204
    And the portal has started a QR-code OTP
    When "phone" scans the QR code and handles the OTP
    And "phone" answers "accept" signed with another key
    Then the request is refused with status 403, error 10019 INVALID_SIGNATURE
    When the callback deliveries run their course
    Then the portal's receiver gets 0 delivery attempts for the transaction
    When "phone" answers "accept" signed with its current key
    Then the answer is "accepted"
    When the callback deliveries run their course
    Then the portal's receiver gets 2 delivery attempts for the transaction

  @CB-003 @must
  Scenario: The device's answer does not wait for the callback, whose final status is already stored
    Given the portal's callback receiver holds every callback until it is let go
    And the portal has started a QR-code OTP
    When "phone" scans the QR code and handles the OTP
    And "phone" accepts
    Then the answer is "accepted"
    And the portal's receiver is holding a callback for the transaction
    And the transaction is accepted for "Alice"
    When the portal's receiver lets the held callback go with 204
    And the callback deliveries run their course
    Then the portal's receiver gets 1 delivery attempt for the transaction

  @CB-004 @must
  Scenario: The expiry callback comes without any further request once the server's clock passes the time to live
    Given the portal's callback receiver answers every callback with 204
    And the portal has started a QR-code OTP
    When the server's clock moves past the OTP's expiry
    Then the portal's receiver gets a POST of Content-Type application/json with the body {"callback_uri", "transaction_id"} for the transaction
    And the transaction is expired

  Scenario Outline: A delivery attempt succeeds only on a 2xx status: the receiver <first>
    Given the server's callback_retries is 1
    And the portal's callback receiver <first>, then answers 204
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    And the callback deliveries run their course
    Then the portal's receiver gets <attempts> delivery attempts for the transaction
    And the portal's receiver was never asked for its redirect location
    And the transaction is accepted for "Alice"

    @CB-005 @must
    Examples: a 2xx status is a success
      | first        | attempts |
      | answers 200  | 1        |
      | answers 202  | 1        |
      | answers 299  | 1        |

    @CB-005 @must
    Examples: any other status or a broken connection is a failure
      | first                                        | attempts |
      | answers 302 with a Location on itself         | 2        |
      | answers 307 with a Location on itself         | 2        |
      | answers 404                                  | 2        |
      | answers 500                                  | 2        |
      | closes the connection without answering      | 2        |

  Scenario Outline: A failed delivery is tried 1 + callback_retries times: <retries>
    Given the server's callback_retries is <retries>
    And the portal's callback receiver answers 500 to every callback
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    And the callback deliveries run their course
    Then the portal's receiver gets <attempts> delivery attempts for the transaction
    And the transaction is accepted for "Alice"

    @CB-006 @must
    Examples:
      | retries     | attempts |
      | 0           | 1        |
      | 1           | 2        |
      | its default | 4        |

  @CB-007 @must
  Scenario: A retry backs off: it does not come at once after the attempt before it failed
    Given the server's callback_retries is 1
    And the portal's callback receiver answers 500, then 204
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    Then the portal's receiver gets 1 delivery attempt for the transaction
    And the portal's receiver gets no further attempt within 150 ms while the server's clock is not moved
    When the callback deliveries run their course
    Then the portal's receiver gets 2 delivery attempts for the transaction
