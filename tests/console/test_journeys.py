"""The console's main journeys in headless Chromium against ``wacloud serve`` (sandbox mode, echo bot)."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import Served, screenshot, wait_for

CUSTOMER = "15557001234"


def sign_in(browser: Any, served: Served, role: str) -> None:
    """Sign in through the form: the field labelled "API key", the button "Sign in"."""
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{served.url}/")
    label = browser.find_element(By.XPATH, "//label[normalize-space()='API key']")
    field = browser.find_element(By.ID, label.get_attribute("for"))
    field.send_keys(served.keys[role])
    browser.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
    wait_for(lambda: "/console/inbox" in browser.current_url, 20, "the inbox after signing in")


def text_of(browser: Any, css: str) -> str:
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return "\n".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, css))
    except StaleElementReferenceException:  # htmx swapped the fragment while we read it
        return ""
    except WebDriverException as exc:  # Chromium's form of the same, when the page was replaced
        if "does not belong to the document" in str(exc):
            return ""
        raise


def labelled(browser: Any, label_text: str) -> Any:
    """The control whose <label> says ``label_text`` (what a screen reader would announce)."""
    from selenium.webdriver.common.by import By

    label = browser.find_element(By.XPATH, f"//label[normalize-space()='{label_text}']")
    return browser.find_element(By.ID, label.get_attribute("for"))


def test_sign_in_and_chat_with_the_echo_bot_through_the_phone(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, served, "agent")
    screenshot(browser, "signin-inbox-empty")
    browser.get(f"{served.url}/console/phone")
    labelled(browser, "Phone number").send_keys(CUSTOMER)
    labelled(browser, "Name").send_keys("Ada Lovelace")
    browser.find_element(By.XPATH, "//button[normalize-space()='Create customer']").click()
    wait_for(lambda: "c=" + CUSTOMER in browser.current_url, 20, "the customer's phone")
    box = labelled(browser, "Message")
    box.send_keys("hello bot")
    browser.find_element(By.CSS_SELECTOR, ".phone .compose button[type=submit]").click()
    wait_for(lambda: "echo: hello bot" in text_of(browser, "#phone-chat .msg.in"), 30, "the bot's echo on the phone")
    # The business's answer is drawn on the left, the customer's message on the right.
    assert "hello bot" in text_of(browser, "#phone-chat .msg.out")
    labelled(browser, "Message").send_keys("second message")
    browser.find_element(By.CSS_SELECTOR, ".phone .compose button[type=submit]").click()
    wait_for(lambda: "echo: second message" in text_of(browser, "#phone-chat .msg.in"), 30, "the second echo")
    screenshot(browser, "phone")


def test_reply_from_the_inbox_and_see_the_ticks_turn_read(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, served, "agent")
    wait_for(lambda: "Ada Lovelace" in text_of(browser, "#conv-list"), 20, "the conversation in the list")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Ada Lovelace").click()
    wait_for(lambda: "echo: hello bot" in text_of(browser, "#thread"), 20, "the conversation's messages")
    # A person takes the conversation: the bot stops answering.
    browser.find_element(By.XPATH, "//button[normalize-space()='Take over from the bot']").click()
    wait_for(lambda: "has this conversation" in text_of(browser, ".holder"), 20, "the hand-over")
    labelled(browser, "Message").send_keys("Hi Ada, a person here")
    browser.find_element(By.XPATH, "//form[contains(@class,'compose')]//button[normalize-space()='Send']").click()
    wait_for(lambda: "Hi Ada, a person here" in text_of(browser, "#thread .msg.out"), 20, "the reply in the thread")

    def reply_read() -> bool:
        for bubble in browser.find_elements(By.CSS_SELECTOR, "#thread .msg.out"):
            try:
                if "Hi Ada, a person here" in bubble.text and bubble.find_elements(By.CSS_SELECTOR, ".tick-read"):
                    return True
            except Exception:
                return False
        return False

    wait_for(reply_read, 30, "the reply's ticks to turn read")
    screenshot(browser, "inbox")
    # While the person holds it, the customer's next message gets no bot echo.
    with served.http("admin") as http:
        sent = http.post("/sandbox/_sandbox/inbound", json={"from": CUSTOMER, "text": "are you a bot?"})
        assert sent.status_code == 200, sent.text
    wait_for(lambda: "are you a bot?" in text_of(browser, "#thread .msg.in"), 20, "the customer's message")
    with served.http("admin") as http:
        chat = http.get(f"/sandbox/_sandbox/customers/{CUSTOMER}/messages").json()
    echoes = [m for m in chat["received"] if "are you a bot?" in str(m.get("body"))]
    assert echoes == [], echoes
    browser.find_element(By.XPATH, "//button[normalize-space()='Give back to the bot']").click()
    wait_for(lambda: "The bot answers" in text_of(browser, ".holder"), 20, "the bot to have it back")


def test_a_viewer_cannot_send(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, served, "viewer")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Ada Lovelace").click()
    wait_for(lambda: "echo: hello bot" in text_of(browser, "#thread"), 20, "the conversation")
    assert not browser.find_elements(By.XPATH, "//label[normalize-space()='Message']")
    assert "read only" in browser.find_element(By.TAG_NAME, "main").text
    # The console refuses a viewer's post even when forged with the page's own CSRF token ...
    status = browser.execute_script(
        """const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
        const r = new XMLHttpRequest(); r.open('POST', arguments[0], false);
        r.setRequestHeader('X-CSRF-Token', token);
        r.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded'); r.send('text=hi');
        return r.status;""",
        f"{served.url}/console/inbox/{CUSTOMER}/send",
    )
    assert status == 403
    # ... and so does the HTTP API.
    refused = httpx.post(f"{served.url}/v1/messages", headers={"Authorization": f"Bearer {served.keys['viewer']}"},
                         json={"to": CUSTOMER, "type": "text", "text": {"body": "hi"}})
    assert refused.status_code == 403


def test_create_a_template_see_rule_errors_on_the_field_then_approved(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, served, "admin")
    browser.get(f"{served.url}/console/templates")
    labelled(browser, "Name").send_keys("Order Update")  # upper case and a space: refused by Meta's rules
    labelled(browser, "Body").send_keys("Hi {{1}}, your order {{2}} is on its way.")
    labelled(browser, "Example values (comma-separated, for the variables)").send_keys("Ada, 1042")
    wait_for(lambda: "lower-case" in text_of(browser, "#err-name"), 20, "the name's rule error on its field")
    preview = text_of(browser, "#tpl-preview")
    assert "Hi Ada, your order 1042 is on its way." in preview, preview
    name = labelled(browser, "Name")
    name.clear()
    name.send_keys("order_update")
    labelled(browser, "Quick-reply buttons (one per line)").send_keys("Track it")
    wait_for(lambda: "all met" in text_of(browser, "#tpl-check"), 20, "the rules to be met")
    screenshot(browser, "templates")
    browser.find_element(By.XPATH, "//button[normalize-space()='Create template']").click()
    wait_for(lambda: "created=order_update" in browser.current_url, 20, "the template to be created")

    def approved() -> bool:
        row = text_of(browser, "#tpl-list tr[data-template='order_update']")
        return "APPROVED" in row

    wait_for(approved, 30, "the review to approve it (status shown live)")


def test_operations_numbers_pause_opt_out_keyword_and_keys(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    # A customer writes just "Stop!": the keyword records a marketing opt-out.
    with served.http("admin") as http:
        sent = http.post("/sandbox/_sandbox/inbound", json={"from": "15557009999", "text": "Stop!"})
        assert sent.status_code == 200, sent.text
    sign_in(browser, served, "admin")
    browser.get(f"{served.url}/console/ops")
    numbers = text_of(browser, "#numbers table")
    assert "GREEN" in numbers or "UNKNOWN" in numbers, numbers
    assert "100000000000001" in numbers and "100000000000002" in numbers, numbers  # every number served
    wait_for(lambda: (browser.refresh(), "+15557009999" in text_of(browser, "#opt-outs ul"))[1], 20,
             "the keyword opt-out in the list")
    # Pause and resume the number.
    labelled(browser, "Pause for (minutes)").clear()
    labelled(browser, "Pause for (minutes)").send_keys("5")
    browser.find_element(By.XPATH, "//button[normalize-space()='Pause sending']").click()
    wait_for(lambda: "paused" in text_of(browser, "#numbers table"), 20, "the pause")
    browser.find_element(By.XPATH, "//button[normalize-space()='Resume sending']").click()
    wait_for(lambda: "Sending from 15550000001 resumed" in text_of(browser, ".notice"), 20, "the resume")
    # A new keyword, then a key made in the console (shown once).
    labelled(browser, "Language").send_keys("it")
    labelled(browser, "Keyword").send_keys("basta")
    browser.find_element(By.XPATH, "//button[normalize-space()='Add keyword']").click()
    wait_for(lambda: "BASTA" in text_of(browser, "#opt-outs"), 20, "the new keyword")
    labelled(browser, "Key name").send_keys("night shift")
    browser.find_element(By.XPATH, "//button[normalize-space()='Create key']").click()
    key = wait_for(lambda: labelled(browser, "API key").get_attribute("value"), 20, "the new key")
    assert key.startswith("wk_")
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {key}"}) as http:
        assert http.get("/v1/keys").status_code == 403  # an agent key (the default role)
    browser.get(f"{served.url}/console/ops")
    screenshot(browser, "operations")
    assert "create key" in text_of(browser, "#audit")


def test_a_200_recipient_campaign_from_a_csv_runs_to_the_end(served: Served, browser: Any, tmp_path: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with served.http("admin") as http:
        made = http.post("/sandbox/_sandbox/templates", json={
            "name": "order_ready", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi {{1}}, your order is ready.",
                            "example": {"body_text": [["Ada"]]}}]})
        assert made.status_code == 200, made.text
    csv_file = tmp_path / "customers.csv"
    lines = ["phone,first_name,email"] + [f"+1555710{i:04d},Customer {i},c{i}@example.com" for i in range(200)]
    csv_file.write_text("\n".join(lines) + "\n")
    sign_in(browser, served, "agent")
    browser.get(f"{served.url}/console/campaigns")
    Select(labelled(browser, "Template")).select_by_value("order_ready:en_US")
    labelled(browser, "Recipients (CSV file)").send_keys(str(csv_file))
    browser.find_element(By.XPATH, "//button[normalize-space()='Upload and map columns']").click()
    wait_for(lambda: "Map the columns" in browser.page_source, 20, "the mapping step")
    assert Select(labelled(browser, "Phone number column")).first_selected_option.text == "phone"
    assert "No column for body {{1}}" in text_of(browser, "main")  # nothing is named 1: map it by hand
    Select(labelled(browser, "body {{1}}")).select_by_visible_text("first_name")
    browser.find_element(By.XPATH, "//button[normalize-space()='Check again']").click()
    wait_for(lambda: "every template parameter has a column" in text_of(browser, "main"), 20, "the check")
    assert "Hi Customer 0, your order is ready." in text_of(browser, ".preview")
    assert "200" in text_of(browser, "main ul")
    screenshot(browser, "campaign-mapping")
    browser.find_element(By.XPATH, "//button[normalize-space()='Start campaign']").click()
    wait_for(lambda: "/console/campaigns/cmp_" in browser.current_url, 30, "the campaign's page")
    wait_for(lambda: "Finished: 200 recipients" in text_of(browser, "#campaign-state"), 120, "the campaign to finish")
    # "Finished" means no job left to send; the last read receipts may still be arriving (the page is live).
    wait_for(lambda: "read: 200" in text_of(browser, "#funnel"), 30, "every message read")
    screenshot(browser, "campaign")
    campaign_id = browser.current_url.split("?")[0].rsplit("/", 1)[1]
    with served.http("viewer") as http:
        done = http.get(f"/v1/campaigns/{campaign_id}").json()
    assert done["total"] == 200 and done["done"] and done["states"] == {"read": 200}


def _chat_has(browser: Any, css: str, text: str) -> bool:
    return text in text_of(browser, css)


def test_the_phone_taps_buttons_and_rows_shares_reacts_reads_and_opts_out(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    customer = "15557002222"
    with served.http("admin") as http:
        assert http.post("/sandbox/_sandbox/inbound", json={"from": customer, "text": "hi",
                                                             "profile_name": "Grace"}).status_code == 200
        buttons = {"to": customer, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Ready to order?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes please"}},
                                   {"type": "reply", "reply": {"id": "no", "title": "Not now"}}]}}}
        assert http.post("/v1/messages", json=buttons).status_code == 202
    sign_in(browser, served, "agent")
    browser.get(f"{served.url}/console/phone?c={customer}")
    wait_for(lambda: _chat_has(browser, "#phone-chat", "Ready to order?"), 20, "the buttons message on the phone")
    browser.find_element(By.XPATH, "//button[normalize-space()='↩ Yes please']").click()
    wait_for(lambda: _chat_has(browser, "#phone-chat .msg.out", "Yes please"), 20, "the tapped button as a reply")
    with served.http("admin") as http:
        menu = {"to": customer, "type": "interactive", "interactive": {
            "type": "list", "body": {"text": "What size?"}, "action": {"button": "Sizes", "sections": [
                {"title": "Sizes", "rows": [{"id": "s", "title": "Small"}, {"id": "l", "title": "Large"}]}]}}}
        assert http.post("/v1/messages", json=menu).status_code == 202
    wait_for(lambda: _chat_has(browser, "#phone-chat", "What size?"), 20, "the list message")
    browser.find_element(By.XPATH, "//summary[contains(., 'Sizes')]").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Large']").click()
    wait_for(lambda: _chat_has(browser, "#phone-chat .msg.out", "Large"), 20, "the picked row as a reply")
    # A location and an image.
    browser.find_element(By.XPATH, "//summary[normalize-space()='Share a location']").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Share location']").click()
    wait_for(lambda: _chat_has(browser, "#phone-chat .msg.out", "Zócalo"), 20, "the shared location")
    browser.find_element(By.XPATH, "//summary[normalize-space()='Share an image']").click()
    labelled(browser, "Caption").send_keys("my receipt")
    browser.find_element(By.XPATH, "//button[normalize-space()='Share image']").click()
    wait_for(lambda: _chat_has(browser, "#phone-chat .msg.out", "my receipt"), 20, "the shared image")
    # A reaction to the business's question.
    browser.find_element(By.CSS_SELECTOR, "form.react button[aria-label='React 👍']").click()
    wait_for(lambda: _chat_has(browser, "#phone-chat .msg.out", "👍"), 20, "the reaction")
    # The inbox shows all of it from the business's side.
    browser.get(f"{served.url}/console/inbox/{customer}")
    for seen in ("Yes please", "Large", "Zócalo", "my receipt", "👍"):
        wait_for(lambda seen=seen: _chat_has(browser, "#thread .msg.in", seen), 20, f"{seen!r} in the inbox")
    # Read receipts off: a new message stays unread until the customer marks it read.
    browser.get(f"{served.url}/console/phone?c={customer}")
    browser.find_element(By.XPATH, "//summary[normalize-space()='Privacy and settings']").click()
    receipts = labelled(browser, "Read receipts (off: mark read yourself)")
    if receipts.is_selected():
        receipts.click()
    optout = labelled(browser, "Stop marketing messages")
    if not optout.is_selected():
        optout.click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Save settings']").click()
    wait_for(lambda: "c=" + customer in browser.current_url, 20, "the settings saved")
    with served.http("admin") as http:
        job = http.post("/v1/messages", json={"to": customer, "type": "text", "text": {"body": "read me"}}).json()
        wait_for(lambda: http.get(f"/v1/jobs/{job['id']}").json()["state"] == "delivered", 20, "delivered")
        assert http.get(f"/v1/jobs/{job['id']}").json()["state"] == "delivered"  # not read by itself
    wait_for(lambda: _chat_has(browser, "#phone-chat", "read me"), 20, "the message on the phone")
    browser.find_element(By.XPATH, "//summary[normalize-space()='Privacy and settings']").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Mark all read']").click()
    with served.http("admin") as http:
        wait_for(lambda: http.get(f"/v1/jobs/{job['id']}").json()["state"] == "read", 20, "the job to be read")
    screenshot(browser, "phone-interactive")
    # Stopping marketing reached the gateway as an opt-out.
    browser.get(f"{served.url}/console/ops")
    assert "+" + customer in text_of(browser, "#opt-outs ul")


def test_a_closed_window_offers_the_approved_templates(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    stranger = "15557005555"
    with served.http("admin") as http:
        made = http.post("/sandbox/_sandbox/templates", json={
            "name": "welcome_back", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Welcome back, {{1}}!", "example": {"body_text": [["Ada"]]}}]})
        assert made.status_code == 200, made.text
        first = {"to": stranger, "type": "template", "template": {
            "name": "welcome_back", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Lin"}]}]}}
        assert http.post("/v1/messages", json=first).status_code == 202
    sign_in(browser, served, "agent")
    browser.get(f"{served.url}/console/inbox/{stranger}")
    wait_for(lambda: _chat_has(browser, "#thread", "Welcome back, Lin!"), 20, "the template drawn with its text")
    notice = text_of(browser, ".notice")
    assert "24-hour window is closed" in notice
    assert not browser.find_elements(By.XPATH, "//label[normalize-space()='Message']")
    summary = browser.find_element(By.XPATH, "//summary[starts-with(normalize-space(), 'welcome_back')]")
    summary.click()
    details = summary.find_element(By.XPATH, "..")
    label = details.find_element(By.XPATH, ".//label[normalize-space()='body {{1}}']")
    details.find_element(By.ID, label.get_attribute("for")).send_keys("Lin again")
    browser.find_element(By.XPATH, "//button[normalize-space()='Send template welcome_back']").click()
    wait_for(lambda: _chat_has(browser, "#thread", "Welcome back, Lin again!"), 20, "the template sent from the inbox")
    screenshot(browser, "inbox-closed-window")


def test_pages_fit_a_phone_screen_and_work_by_keyboard(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with served.http("viewer") as http:
        campaign_pages = [f"/console/campaigns/{c['id']}" for c in http.get("/v1/campaigns").json()["campaigns"][:1]]

    def fits_and_is_named(path: str) -> None:
        browser.get(served.url + path)
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at phone width"
        # Every form control has an accessible name (a label, or aria-label).
        unnamed = browser.execute_script(
            """return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                            && !(e.tagName === 'BUTTON' && e.textContent.trim()))
               .map(e => e.outerHTML.slice(0, 80));""")
        assert unnamed == [], (path, unnamed)

    browser.set_window_size(390, 844)
    try:
        sign_in(browser, served, "admin")
        fits_and_is_named("/console/ops")  # with the admin's forms (keys, keywords, subscriptions)
        sign_in(browser, served, "agent")
        for path in ("/console/inbox", f"/console/inbox/{CUSTOMER}", f"/console/phone?c={CUSTOMER}",
                     "/console/templates", "/console/campaigns", "/console/ops", *campaign_pages):
            fits_and_is_named(path)
        browser.get(f"{served.url}/console/phone?c={CUSTOMER}")
        screenshot(browser, "phone-width")
        # Keyboard only: type in the message box and press Enter in the form to send.
        box = labelled(browser, "Message")
        box.send_keys("typed by keyboard", Keys.ENTER)
        wait_for(lambda: "echo: typed by keyboard" in text_of(browser, "#phone-chat .msg.in"), 30, "the echo")
        assert browser.find_element(By.CSS_SELECTOR, "a.skip").get_attribute("href").endswith("#main")
    finally:
        browser.set_window_size(1280, 900)


def test_a_campaign_paused_and_resumed_from_its_page(served: Served, browser: Any, tmp_path: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    second = "100000000000002"
    with served.http("admin") as http:
        made = http.post("/sandbox/_sandbox/templates", json={
            "name": "spring_sale", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi {{1}}, spring is here.", "example": {"body_text": [["A"]]}}]})
        assert made.status_code == 200, made.text
        # The second number is paused: the campaign's jobs wait in its queue until we pause the campaign.
        assert http.post(f"/v1/numbers/{second}/pause", params={"seconds": 600}).status_code == 200
    csv_file = tmp_path / "spring.csv"
    csv_file.write_text("to,name\n" + "".join(f"+1555720{i:04d},Friend {i}\n" for i in range(20)))
    sign_in(browser, served, "agent")
    browser.get(f"{served.url}/console/campaigns")
    Select(labelled(browser, "Send from number")).select_by_value(second)
    Select(labelled(browser, "Template")).select_by_value("spring_sale:en_US")
    labelled(browser, "Recipients (CSV file)").send_keys(str(csv_file))
    browser.find_element(By.XPATH, "//button[normalize-space()='Upload and map columns']").click()
    wait_for(lambda: "Map the columns" in browser.page_source, 20, "the mapping step")
    Select(labelled(browser, "body {{1}}")).select_by_visible_text("name")
    browser.find_element(By.XPATH, "//button[normalize-space()='Check again']").click()
    wait_for(lambda: "every template parameter has a column" in text_of(browser, "main"), 20, "the check")
    # The dry run, before anything is queued: recipients by state, the template, holds, cost and duration.
    dry = text_of(browser, "#dry-run")
    assert "new: 20" in dry and "APPROVED" in dry and "Estimated cost" in dry and "Estimated duration" in dry, dry
    assert "Would send now\n20 of 20" in dry, dry
    screenshot(browser, "campaign-mapping")
    browser.find_element(By.XPATH, "//button[normalize-space()='Start campaign']").click()
    wait_for(lambda: "/console/campaigns/cmp_" in browser.current_url, 30, "the campaign's page")
    assert "active" in text_of(browser, "#campaign-run-state")
    browser.find_element(By.XPATH, "//button[normalize-space()='Pause campaign']").click()
    wait_for(lambda: "paused: its jobs not yet sent are held" in text_of(browser, ".notice"), 20, "the pause")
    assert "paused" in text_of(browser, "#campaign-run-state")
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='Pause campaign']")
    with served.http("admin") as http:  # the number sends again: the paused campaign's jobs are held
        assert http.post(f"/v1/numbers/{second}/resume").status_code == 200
    wait_for(lambda: (browser.refresh(), "campaign paused 20" in text_of(browser, "#campaign-held"))[1], 30,
             "the jobs held by the campaign's pause")
    screenshot(browser, "campaign-paused")
    browser.find_element(By.XPATH, "//button[normalize-space()='Resume campaign']").click()
    wait_for(lambda: "resumed" in text_of(browser, ".notice"), 20, "the resume")
    # From here the page follows the event stream: the campaign finishes without a reload.
    browser.execute_script("window.__same_page = true")
    wait_for(lambda: "Finished: 20 recipients" in text_of(browser, "#campaign-state"), 60, "the campaign to finish")
    assert browser.execute_script("return window.__same_page === true")
    assert "read: 20" in text_of(browser, "#funnel")
    exported = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(document.querySelector('a[download]').href).then(r => r.text()).then(done);")
    lines = exported.strip().splitlines()
    assert lines[0].startswith("recipient,state") and len(lines) == 21 and all(",read," in line for line in lines[1:])


def test_an_attachment_reply_from_the_inbox_reaches_the_phone(served: Served, browser: Any, tmp_path: Any) -> None:
    from selenium.webdriver.common.by import By

    customer = "15557003333"
    with served.http("admin") as http:
        said = http.post("/sandbox/_sandbox/inbound", json={"from": customer, "text": "the invoice please",
                                                            "profile_name": "Linus"})
        assert said.status_code == 200
    sign_in(browser, served, "agent")
    browser.get(f"{served.url}/console/inbox/{customer}")
    wait_for(lambda: "the invoice please" in text_of(browser, "#thread"), 20, "the customer's message")
    # A file WhatsApp does not take: the error is on the attachment field, nothing is sent.
    bad = tmp_path / "notes.exe"
    bad.write_bytes(b"MZ\x90\x00not a document")
    labelled(browser, "Attachment (image, video, audio or document)").send_keys(str(bad))
    browser.find_element(By.XPATH, "//form[contains(@class,'compose')]//button[normalize-space()='Send']").click()
    wait_for(lambda: "cannot send" in text_of(browser, "#attach-error"), 20, "the error on the attachment field")
    field = labelled(browser, "Attachment (image, video, audio or document)")
    assert "attach-error" in (field.get_attribute("aria-describedby") or "")
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    field.clear()
    field.send_keys(str(invoice))
    labelled(browser, "Message").send_keys("Your invoice")
    browser.find_element(By.XPATH, "//form[contains(@class,'compose')]//button[normalize-space()='Send']").click()
    wait_for(lambda: "Your invoice" in text_of(browser, "#thread .msg.out"), 20, "the document in the thread")
    assert "document" in text_of(browser, "#thread .msg.out")
    assert text_of(browser, "#attach-error") == ""
    browser.get(f"{served.url}/console/phone?c={customer}")
    wait_for(lambda: _chat_has(browser, "#phone-chat .msg.in", "Your invoice"), 20, "the document on the phone")
    assert "document" in text_of(browser, "#phone-chat .msg.in")
    screenshot(browser, "phone-attachment")


def test_a_new_customer_message_appears_in_the_open_inbox_without_reload(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    customer = "15557004444"
    with served.http("admin") as http:
        said = http.post("/sandbox/_sandbox/inbound", json={"from": customer, "text": "first", "profile_name": "Ken"})
        assert said.status_code == 200
    sign_in(browser, served, "agent")
    browser.get(f"{served.url}/console/inbox/{customer}")
    wait_for(lambda: "first" in text_of(browser, "#thread"), 20, "the conversation")
    wait_for(lambda: browser.execute_script("return document.body.dataset.live") == "sse", 20,
             "the page to follow the event stream")
    browser.execute_script("window.__same_page = true")
    # The conversation list does not poll: nothing but the event stream refreshes it.
    assert "every" not in (browser.find_element(By.ID, "conv-list").get_attribute("hx-trigger") or "")
    with served.http("admin") as http:
        said = http.post("/sandbox/_sandbox/inbound", json={"from": customer, "text": "are you there?"})
        assert said.status_code == 200
        assert http.post("/sandbox/_sandbox/inbound", json={"from": "15557004445", "text": "new here",
                                                             "profile_name": "Dennis"}).status_code == 200
    wait_for(lambda: "are you there?" in text_of(browser, "#thread .msg.in"), 20, "the new message in the thread")
    wait_for(lambda: "Dennis" in text_of(browser, "#conv-list"), 20, "the new conversation in the list")
    # Dennis's conversation is not open: it shows his one message as unread.
    badge = wait_for(lambda: browser.find_elements(By.XPATH, "//ul[@class='convs']//a[contains(., 'Dennis')]"
                                                             "//span[contains(@class, 'unread')]"), 20, "the badge")
    assert badge[0].get_attribute("aria-label") == "1 unread"
    assert browser.execute_script("return window.__same_page === true")
    # A browser without EventSource polls the same feed instead.
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.EventSource;"})
    try:
        browser.get(f"{served.url}/console/inbox/{customer}")
        wait_for(lambda: browser.execute_script("return document.body.dataset.live") == "poll", 20, "polling")
        browser.execute_script("window.__same_page = true")
        with served.http("admin") as http:
            said = http.post("/sandbox/_sandbox/inbound", json={"from": customer, "text": "polled in"})
            assert said.status_code == 200
        wait_for(lambda: "polled in" in text_of(browser, "#thread .msg.in"), 20, "the message through polling")
        assert browser.execute_script("return window.__same_page === true")
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def test_a_scheduled_campaign_moved_given_a_budget_then_started_now_from_its_page(served: Served, browser: Any) -> None:
    import time

    from selenium.webdriver.common.by import By

    later = int(time.time()) + 7200
    with served.http("admin") as http:
        made = http.post("/sandbox/_sandbox/templates", json={
            "name": "autumn_note", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Autumn is here."}]})
        assert made.status_code == 200, made.text
        started = http.post("/v1/campaigns", json={
            "template": "autumn_note", "language": "en_US", "category": "utility", "id": "autumn",
            "recipients": [{"to": f"+1555730{i:04d}"} for i in range(5)], "start_at": later})
        assert started.status_code == 202, started.text
    sign_in(browser, served, "agent")
    browser.get(f"{served.url}/console/campaigns/autumn")
    wait_for(lambda: "Scheduled: 5 recipients" in text_of(browser, "#campaign-state"), 20, "the scheduled campaign")
    # Two hours later still: a datetime-local value, in UTC.
    moved_to = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(later + 3600))
    browser.execute_script("document.getElementById('reschedule-at').value = arguments[0]", moved_to)
    browser.find_element(By.ID, "reschedule").click()
    wait_for(lambda: "moved to" in text_of(browser, ".notice"), 20, "the reschedule")
    labelled(browser, "Budget (USD)").send_keys("1.25")
    browser.find_element(By.ID, "set-budget").click()
    wait_for(lambda: "budget set to 1.25" in text_of(browser, ".notice"), 20, "the budget")
    with served.http("viewer") as http:
        found = http.get("/v1/campaigns/autumn").json()
    assert abs(found["start_at"] - (later + 3600 - (later + 3600) % 60)) < 1 and found["budget"] == 1.25
    screenshot(browser, "campaign-rescheduled")
    # Empty: start now. The campaign runs, and a started campaign offers no reschedule any more.
    browser.find_element(By.ID, "reschedule").click()
    wait_for(lambda: "starts now" in text_of(browser, ".notice"), 20, "the start")
    wait_for(lambda: (browser.refresh(), "Finished: 5 recipients" in text_of(browser, "#campaign-state"))[1], 60,
             "the campaign to finish")
    assert not browser.find_elements(By.ID, "reschedule")
